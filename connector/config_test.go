package connector

import (
	"errors"
	"strings"
	"testing"
)

const base = `in:
  type: s3
  bucket: b
  path_prefix: logs/
`

func TestParseRefuses(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", base + "  bukket: x\n", `in: unknown key "bukket"`},
		{"unknown top key", base + "outt: {}\n", `unknown key "outt"`},
		{"not yet", base + "  comment_line_marker: \"#\"\n", "comment_line_marker is not supported yet"},
		{"filter key", base + "filters:\n- type: column\n  colums: []\n", `filters[0]: unknown key "colums"`},
		{"filter column key", base + "filters:\n- type: column\n  add_columns:\n  - {name: a, typ: long}\n", `filters[0].add_columns: unknown key "typ"`},
		{"filters not a list", base + "filters: {type: column}\n", "filters must be a list"},
		{"key of another method", base + "  auth_method: anonymous\n  access_key_id: AK\n", "in.access_key_id belongs to another auth_method than anonymous"},
		{"session token with basic", base + "  access_key_id: a\n  secret_access_key: s\n  session_token: t\n", "in.session_token belongs to another auth_method than basic"},
		{"profile key with env", base + "  auth_method: env\n  profile_name: p\n", "in.profile_name belongs to another auth_method than env"},
		{"unknown method", base + "  auth_method: instance\n", `auth_method "instance"`},
		{"parser key", base + "  parser:\n    type: csv\n    delimeter: ','\n", `in.parser: unknown key "delimeter"`},
		{"column key", base + "  parser:\n    columns:\n    - {name: a, typ: long}\n", `in.parser.columns: unknown key "typ"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	full := base + "  access_key_id: a\n  secret_access_key: s\n  parser:\n    type: csv\n    columns:\n    - {name: a, type: long}\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"ok", full, ""},
		{"basic without keys", base + "  parser: {type: csv, columns: [{name: a, type: long}]}\n", "auth_method basic needs"},
		{"anonymous", base + "  auth_method: anonymous\n  parser: {type: csv, columns: [{name: a, type: long}]}\n", ""},
		{"no prefix", "in: {type: s3, bucket: b, auth_method: anonymous, parser: {type: csv, columns: [{name: a, type: long}]}}\n", "path_prefix or in.path is required"},
		{"slash prefix", "in: {type: s3, bucket: b, path_prefix: /, auth_method: anonymous}\n", "use '' for the whole bucket"},
		{"bad type", strings.Replace(full, "type: long", "type: int", 1), `type "int"`},
		{"bad format", strings.Replace(full, "type: long", "type: timestamp, format: '%Q'", 1), "%Q is not supported"},
		{"zone abbreviation", strings.Replace(full, "type: long", "type: timestamp, timezone: PST", 1), "not an abbreviation"},
		{"bad mode", full + "out: {mode: upsert}\n", `out.mode "upsert"`},
		{"bad lookback", strings.Replace(full, "  parser:", "  incremental_lookback: soon\n  parser:", 1), "incremental_lookback"},
		{"bad on_changed", strings.Replace(full, "  parser:", "  on_changed: panic\n  parser:", 1), "on_changed"},
		{"no parser", base + "  access_key_id: a\n  secret_access_key: s\n", "connector guess"},
		{"bad reference", strings.Replace(full, "secret_access_key: s", "secret_access_key: ${vault:x}", 1), "${vault:…}"},
		{"relative file", strings.Replace(full, "secret_access_key: s", "secret_access_key: ${file:key.txt}", 1), "must be absolute"},
		{"retries", full + "  maximum_retries: 3\n  initial_retry_interval_millis: 10\n  maximum_retry_interval_millis: 40\n", ""},
		{"negative retries", full + "  maximum_retries: -1\n", "maximum_retries -1"},
		{"intervals crossed", full + "  initial_retry_interval_millis: 50\n  maximum_retry_interval_millis: 40\n", "more than in.maximum_retry_interval_millis"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml))
			if err == nil {
				err = c.Validate()
			}
			if tt.want == "" {
				if err != nil {
					t.Errorf("got %v, want no error", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	c, err := Parse([]byte(base + "  access_key_id: AKIA\n  secret_access_key: s3cr3t\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = c.RefuseLiterals()
	if !errors.Is(err, ErrLiteralSecret) || !strings.Contains(err.Error(), "${env:NAME}") || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("RefuseLiterals: %v", err)
	}
	stored, held := c.Held()
	if stored.In.SecretAccessKey != "${held:secret_access_key}" || stored.In.AccessKeyID != "${held:access_key_id}" {
		t.Errorf("held config: %+v", stored.In.Auth)
	}
	if c.In.SecretAccessKey != "s3cr3t" {
		t.Error("Held changed the original config")
	}
	if err := stored.RefuseLiterals(); err != nil {
		t.Errorf("the held config still has literals: %v", err)
	}
	e := Env{Getenv: func(k string) string { return held[k] }}
	s3, err := stored.S3(e)
	if err != nil || s3.SecretAccessKey != "s3cr3t" || s3.AccessKeyID != "AKIA" {
		t.Errorf("resolved %+v, %v", s3, err)
	}
	// Another process (an agent) can't resolve a held secret, and says why.
	if _, err := stored.S3(Env{Getenv: func(string) string { return "" }}); err == nil || !strings.Contains(err.Error(), "${env:NAME}") {
		t.Errorf("resolving elsewhere: %v", err)
	}
	if m := c.Masked(); m.In.SecretAccessKey != "********" || m.In.AccessKeyID != "********" {
		t.Errorf("masked %+v", m.In.Auth)
	}
	// References resolve where the run happens.
	ref, err := Parse([]byte(base + "  access_key_id: ${env:AK}\n  secret_access_key: ${file:/run/sk}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ref.RefuseLiterals(); err != nil {
		t.Errorf("references refused: %v", err)
	}
	s3, err = ref.S3(Env{Getenv: func(k string) string { return map[string]string{"AK": "id"}[k] },
		ReadFile: func(p string) ([]byte, error) { return []byte("from-file\n"), nil }})
	if err != nil || s3.AccessKeyID != "id" || s3.SecretAccessKey != "from-file" {
		t.Errorf("resolved %+v, %v", s3, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(base))
	f.Add([]byte(base + "  parser:\n    type: csv\n    columns:\n    - {name: a, type: timestamp, format: '%Y'}\n"))
	f.Add([]byte("in: [1, 2]\n"))
	f.Add([]byte("- a\n- b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err == nil {
			_ = c.Validate()
		}
	})
}
