package s3bridge

import (
	"slices"
	"strings"
)

// Kind groups the task types that share a limit on running tasks, so one
// long export doesn't keep file transfers waiting.
type Kind string

// Task kinds.
const (
	KindTransfer Kind = "transfer" // files between S3 and the database host
	KindLoad     Kind = "load"     // LOAD_FROM_S3
	KindImport   Kind = "import"   // IMPORT_FROM_S3: connector runs
	KindExport   Kind = "export"   // EXPORT_TO_S3
)

// kindSpec is one row of the kind table.
type kindSpec struct {
	kind  Kind
	types []TaskType
	// pooled kinds count against a limit on running tasks (Settings.Limit).
	// Every kind today is. Pipelines, when they come, will not be: a
	// pipeline holds its lease for days, and must neither wait for a slot
	// nor take one from file tasks, loads and exports.
	pooled bool
}

// kindTable is the kind table: a function, not a variable, so nothing can
// change it.
func kindTable() []kindSpec {
	return []kindSpec{
		{KindTransfer, []TaskType{TaskUpload, TaskDownload, TaskListFiles, TaskDeleteFiles}, true},
		{KindLoad, []TaskType{TaskLoadFromS3}, true},
		// Connector runs have a limit of their own: a schedule's runs
		// must neither wait behind a user's loads nor keep them waiting
		// (attach --max-running-import 1 keeps them one at a time).
		{KindImport, []TaskType{TaskImportFromS3}, true},
		{KindExport, []TaskType{TaskExportToS3}, true},
	}
}

// Kinds lists every kind, in a fixed order.
func Kinds() []Kind {
	var out []Kind
	for _, k := range kindTable() {
		out = append(out, k.kind)
	}
	return out
}

// Kind is the kind of a task type. A type this build doesn't know is a
// transfer: it then counts against a limit, and can never exceed all of
// them.
func (t TaskType) Kind() Kind {
	for _, k := range kindTable() {
		if slices.Contains(k.types, t) {
			return k.kind
		}
	}
	return KindTransfer
}

// Types lists the task types of kind k (none for an unknown kind).
func (k Kind) Types() []TaskType {
	for _, s := range kindTable() {
		if s.kind == k {
			return slices.Clone(s.types)
		}
	}
	return nil
}

// Pooled reports whether tasks of kind k count against a limit on running
// tasks. An unknown kind isn't pooled.
func (k Kind) Pooled() bool {
	for _, s := range kindTable() {
		if s.kind == k {
			return s.pooled
		}
	}
	return false
}

// kindNames lists the pooled kinds for an error message.
func kindNames() string {
	var names []string
	for _, k := range Kinds() {
		if k.Pooled() {
			names = append(names, string(k))
		}
	}
	return strings.Join(names, ", ")
}
