package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// closeWait bounds the goodbye to a server that may not answer.
const closeWait = 5 * time.Second

// Listen implements instance.Notifier with LISTEN on a dedicated connection,
// in the caller's goroutine. It wakes the caller as soon as it listens, so
// the caller claims whatever was queued before, then after each
// notification; when the connection drops it reconnects with backoff and
// wakes the caller again, for notifications it may have missed.
func (in *Instance) Listen(ctx context.Context, wake chan<- struct{}) error {
	conn, err := in.listenConn(ctx)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", in.channel, err)
	}
	signal(wake)
	in.listenLoop(ctx, conn, wake)
	return nil
}

func (in *Instance) listenConn(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, in.connString)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{in.channel}.Sanitize()); err != nil {
		closeConn(ctx, conn)
		return nil, err
	}
	return conn, nil
}

// listenLoop waits for notifications until ctx is done and closes the
// connection before it returns.
func (in *Instance) listenLoop(ctx context.Context, conn *pgx.Conn, wake chan<- struct{}) {
	defer func() {
		if conn != nil {
			closeConn(ctx, conn)
		}
	}()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if conn == nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			c, err := in.listenConn(ctx)
			if err != nil {
				backoff = min(backoff*2, 5*time.Second)
				continue
			}
			conn, backoff = c, 100*time.Millisecond
			signal(wake) // we may have missed notifications while away
		}
		if _, err := conn.WaitForNotification(ctx); err != nil {
			closeConn(ctx, conn)
			conn = nil
			continue
		}
		signal(wake)
	}
}

// closeConn closes conn even after ctx ended, but no longer than closeWait.
func closeConn(ctx context.Context, conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeWait)
	defer cancel()
	conn.Close(ctx)
}

func signal(wake chan<- struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}
