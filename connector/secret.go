package connector

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Secret is a credential in a config (the S3 keys, a digest's HMAC key):
// a literal, or a reference resolved where the run happens, ${env:NAME} or
// ${file:/absolute/path}. One-shot commands (guess, preview, issue) take
// literals; a config stored in the database takes references only
// (Config.RefuseLiterals). A literal given to issue is never written to
// the task: the task holds ${held:KEY} instead, which only the issuing
// process can resolve.
type Secret string

// Secret reference kinds.
const (
	refEnv  = "env"
	refFile = "file"
	refHeld = "held"
)

// ErrLiteralSecret means a stored config holds a secret in clear.
var ErrLiteralSecret = errors.New("a secret is written in clear")

// ref splits a reference into its kind and argument.
func (s Secret) ref() (kind, arg string, ok bool) {
	v := string(s)
	if !strings.HasPrefix(v, "${") || !strings.HasSuffix(v, "}") {
		return "", "", false
	}
	kind, arg, ok = strings.Cut(v[2:len(v)-1], ":")
	return kind, arg, ok
}

// Literal reports whether the secret is written in clear.
func (s Secret) Literal() bool {
	_, _, ok := s.ref()
	return s != "" && !ok
}

// check refuses malformed references.
func (s Secret) check() error {
	kind, arg, ok := s.ref()
	if !ok {
		return nil
	}
	switch kind {
	case refEnv:
		if arg == "" {
			return errors.New("config: ${env:NAME} needs a variable name")
		}
	case refFile:
		if !filepath.IsAbs(arg) {
			return fmt.Errorf("config: ${file:%s}: the path must be absolute", arg)
		}
	case refHeld:
	default:
		return fmt.Errorf("config: secret reference ${%s:…}: want ${env:NAME} or ${file:/path}", kind)
	}
	return nil
}

// Masked is the secret fit to print: a reference as it is, a literal as
// "********".
func (s Secret) Masked() string {
	if s.Literal() {
		return "********"
	}
	return string(s)
}

// Env is how secrets are resolved: the process's environment and files.
type Env struct {
	Getenv   func(string) string
	ReadFile func(string) ([]byte, error)
}

// heldVar is the name under which an issuing process holds a literal
// secret in its Env.Getenv: not a valid environment variable name, so no
// real environment can answer for it.
func heldVar(key string) string { return "\x00s3bridge-held:" + key }

// Resolve returns the secret's value.
func (s Secret) Resolve(e Env) (string, error) {
	kind, arg, ok := s.ref()
	if !ok {
		return string(s), nil
	}
	switch kind {
	case refEnv:
		v := ""
		if e.Getenv != nil {
			v = e.Getenv(arg)
		}
		if v == "" {
			return "", fmt.Errorf("secret ${env:%s}: the variable is not set in this process", arg)
		}
		return v, nil
	case refFile:
		read := e.ReadFile
		if read == nil {
			read = os.ReadFile
		}
		b, err := read(arg)
		if err != nil {
			return "", fmt.Errorf("secret ${file:%s}: %w", arg, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case refHeld:
		v := ""
		if e.Getenv != nil {
			v = e.Getenv(heldVar(arg))
		}
		if v == "" {
			return "", fmt.Errorf("%s was written in clear in the config given to connector issue, and only that command's "+
				"process holds it (secrets are never stored in the database): write it as ${env:NAME} or ${file:/path} "+
				"for any other process, such as an agent, to run the import", secretName(arg))
		}
		return v, nil
	}
	return "", fmt.Errorf("secret reference ${%s:…}: want ${env:NAME} or ${file:/path}", kind)
}

// secrets lists the config's secret fields by key: in:'s by their key,
// the filters' by their path (filters[0].columns[1].key).
func (c *Config) secrets() map[string]*Secret {
	m := map[string]*Secret{
		"access_key_id":     &c.In.AccessKeyID,
		"secret_access_key": &c.In.SecretAccessKey,
		"session_token":     &c.In.SessionToken,
	}
	for i := range c.Filters {
		for j := range c.Filters[i].Columns {
			m[fmt.Sprintf("filters[%d].columns[%d].key", i, j)] = &c.Filters[i].Columns[j].Key
		}
	}
	return m
}

// secretName is how a secret's key in Config.secrets is named to a user.
func secretName(key string) string {
	if strings.HasPrefix(key, "filters[") {
		return key
	}
	return "in." + key
}

// withOwnSecrets returns c with its own copy of every slice that holds a
// secret, so that changing the copy's secrets leaves c's alone.
func (c Config) withOwnSecrets() Config {
	c.Filters = slices.Clone(c.Filters)
	for i := range c.Filters {
		c.Filters[i].Columns = slices.Clone(c.Filters[i].Columns)
	}
	return c
}

// RefuseLiterals fails for a config holding a secret in clear: what a
// stored connector must not hold. The access key ID is an identifier,
// not a secret, and may be written as it is.
func (c Config) RefuseLiterals() error {
	secrets := c.secrets()
	for _, key := range slices.Sorted(maps.Keys(secrets)) {
		if s := secrets[key]; key != "access_key_id" && s.Literal() {
			leaf := key[strings.LastIndex(key, ".")+1:]
			return fmt.Errorf("config: %s: %w; a stored connector takes secrets only as references resolved "+
				"where it runs: %s: ${env:NAME} or %s: ${file:/path/to/file}", secretName(key), ErrLiteralSecret, leaf, leaf)
		}
	}
	return nil
}

// Held returns the config with every secret written in clear replaced by
// ${held:KEY}, and the literals by the Env.Getenv names under which the
// issuing process must hold them: the form of a one-shot run's config in
// its task row.
func (c Config) Held() (Config, map[string]string) {
	held := map[string]string{}
	out := c.withOwnSecrets()
	for key, s := range out.secrets() {
		if s.Literal() {
			held[heldVar(key)] = string(*s)
			*s = Secret("${" + refHeld + ":" + key + "}")
		}
	}
	return out, held
}

// Masked returns the config with literal secrets masked, to print.
func (c Config) Masked() Config {
	out := c.withOwnSecrets()
	for _, s := range out.secrets() {
		*s = Secret(s.Masked())
	}
	return out
}
