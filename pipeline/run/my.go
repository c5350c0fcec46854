package run

import (
	"context"
	"errors"
	"fmt"

	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/mysource"
)

// MariaDB is a MariaDB Source. Its checkpoints carry resume tokens
// (Checkpoint.Position); it needs no Heartbeater (its stream sends every
// transaction's commit, see mysource.Stream).
func MariaDB(src *mysource.Source) Source { return mySource{src} }

type mySource struct{ *mysource.Source }

func (s mySource) Create(ctx context.Context, pub pipeline.Publication) (Slot, error) {
	sl, err := s.Source.Create(ctx, pub)
	if err != nil {
		return nil, err
	}
	return sl, nil
}

func (s mySource) SnapshotSlot(ctx context.Context) (Slot, error) {
	sl, err := s.Source.SnapshotSlot(ctx)
	if err != nil {
		return nil, err
	}
	return sl, nil
}

func (s mySource) OpenSnapshot(ctx context.Context, slot Slot) (Snapshot, error) {
	sl, ok := slot.(*mysource.Slot)
	if !ok {
		return nil, fmt.Errorf("open snapshot of %s: not a MariaDB slot", slot)
	}
	sn, err := s.Source.OpenSnapshot(ctx, sl)
	if err != nil {
		return nil, err
	}
	return sn, nil
}

func (s mySource) Stream(ctx context.Context, start StreamStart) (Stream, error) {
	st, err := s.Source.Stream(ctx, mysource.StreamOptions{Start: start.LSN, Position: start.Position,
		Versions: start.Versions})
	if err != nil {
		return nil, err
	}
	return st, nil
}

func (mySource) Lost(err error) bool {
	var purged *mysource.PurgedError
	return errors.As(err, &purged)
}

var (
	_ Slot     = (*mysource.Slot)(nil)
	_ Snapshot = (*mysource.Snapshot)(nil)
	_ Stream   = (*mysource.Stream)(nil)
)
