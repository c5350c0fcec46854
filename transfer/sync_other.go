//go:build !linux

package transfer

const canSyncFS = false

func syncFS(string) error { return nil }
