package main

import "testing"

func TestAttachCompatFlag(t *testing.T) {
	for _, tc := range []struct {
		compat  string
		replace bool
		want    string
		wantErr bool
	}{
		{compat: "", want: ""},
		{compat: "none", want: ""},
		{compat: "aws_s3", want: "aws_s3"},
		{compat: "AWS_S3", replace: true, want: "aws_s3"},
		{compat: "aws_s4", wantErr: true},
		{compat: "", replace: true, wantErr: true},
	} {
		a := attachFlags{compatReplace: tc.replace}
		a.set.Compat = tc.compat
		got, err := a.compat()
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("--compat %q (replace %v): got %q, %v; want %q, error %v", tc.compat, tc.replace, got, err, tc.want, tc.wantErr)
		}
	}
}
