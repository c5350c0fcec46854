package postgres_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/s3bridge/s3bridge"
)

// TestListenStops: Listen wakes its caller once it listens and after an
// enqueue's NOTIFY, and returns when its context ends, its connection
// closed and no goroutine left.
func TestListenStops(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) }) // after the instance is closed
	in := open(t)
	t.Cleanup(func() { in.Close() })
	if err := in.Attach(t.Context(), s3bridge.Settings{Area: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	wake := make(chan struct{}, 1)
	errc := make(chan error, 1)
	go func() { errc <- in.Listen(ctx, wake) }()
	await := func(what string) {
		t.Helper()
		select {
		case <-wake:
		case err := <-errc:
			t.Fatalf("%s: Listen returned %v", what, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no wake-up", what)
		}
	}
	await("listening")
	if _, err := in.Enqueue(t.Context(), s3bridge.Task{Type: s3bridge.TaskUpload, S3ObjectARN: "arn:aws:s3:::b/k", FilePath: "f"}); err != nil {
		t.Fatal(err)
	}
	await("enqueue")
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Listen after its context ended: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Listen did not return after its context ended")
	}
}
