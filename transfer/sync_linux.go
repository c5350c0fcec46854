package transfer

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

const canSyncFS = true

// syncFS flushes the filesystem holding path (syncfs(2)), and the directory
// itself so the renames are durable too.
func syncFS(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	defer d.Close()
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}
