package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listen implements instance.Notifier with LISTEN on a dedicated connection,
// reconnecting with backoff when it drops. The first wake-up is sent at once
// so the caller claims whatever was queued before it listened.
func (in *Instance) Listen(ctx context.Context) (<-chan struct{}, error) {
	conn, err := in.listenConn(ctx)
	if err != nil {
		return nil, err
	}
	wake := make(chan struct{}, 1)
	wake <- struct{}{}
	go in.listenLoop(ctx, conn, wake)
	return wake, nil
}

func (in *Instance) listenConn(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, in.connString)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{in.channel}.Sanitize()); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return conn, nil
}

func (in *Instance) listenLoop(ctx context.Context, conn *pgx.Conn, wake chan struct{}) {
	defer func() {
		if conn != nil {
			conn.Close(context.WithoutCancel(ctx))
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
			conn.Close(context.WithoutCancel(ctx))
			conn = nil
			continue
		}
		signal(wake)
	}
}

func signal(wake chan struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}
