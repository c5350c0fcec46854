package run

import (
	"context"
	"errors"
	"fmt"

	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/pgsource"
)

// Postgres is a PostgreSQL Source.
func Postgres(src *pgsource.Source) Source { return pgSource{src} }

type pgSource struct{ *pgsource.Source }

func (s pgSource) Create(ctx context.Context, pub pipeline.Publication) (Slot, error) {
	sl, err := s.Source.Create(ctx, pub)
	if err != nil {
		return nil, err
	}
	return pgSlot{sl}, nil
}

func (s pgSource) SnapshotSlot(ctx context.Context) (Slot, error) {
	sl, err := s.Source.SnapshotSlot(ctx)
	if err != nil {
		return nil, err
	}
	return pgSlot{sl}, nil
}

func (s pgSource) OpenSnapshot(ctx context.Context, slot Slot) (Snapshot, error) {
	sl, ok := slot.(pgSlot)
	if !ok {
		return nil, fmt.Errorf("open snapshot of %s: not a PostgreSQL slot", slot)
	}
	sn, err := s.Source.OpenSnapshot(ctx, sl.Slot)
	if err != nil {
		return nil, err
	}
	return sn, nil
}

func (s pgSource) Stream(ctx context.Context, start StreamStart) (Stream, error) {
	st, err := s.Source.Stream(ctx, pgsource.StreamOptions{Start: start.LSN, Versions: start.Versions,
		StatusInterval: start.StatusInterval})
	if err != nil {
		return nil, err
	}
	return pgStream{st}, nil
}

func (pgSource) Lost(err error) bool {
	var behind *pgsource.BehindSlotError
	return errors.Is(err, pgsource.ErrSlotMissing) || errors.As(err, &behind)
}

type pgSlot struct{ *pgsource.Slot }

func (sl pgSlot) Point() pipeline.LSN { return sl.ConsistentPoint }
func (sl pgSlot) Token() string       { return "" }
func (sl pgSlot) String() string      { return sl.Name }

type pgStream struct{ *pgsource.Stream }

// Token is "": a PostgreSQL LSN is resumed from as it is.
func (pgStream) Token(pipeline.LSN) string { return "" }

var _ Snapshot = (*pgsource.Snapshot)(nil)
