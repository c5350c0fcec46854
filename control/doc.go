// Package control is what an operator sees of and does to an instance's
// tasks, connectors and pipelines, shared by the CLI's --json output and
// the HTTP API (package console) so that both show the same documents and
// change things the same way: the views are built here from the instance's
// rows, and the changes go through the same store calls.
package control
