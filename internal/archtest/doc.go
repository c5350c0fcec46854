// Package archtest holds no code: its test guards s3bridge's import graph,
// the seams issue 20 drew, so that a change which crosses one fails CI
// instead of waiting for a review to notice.
package archtest
