// Command tcprelay is the floor of any user-space TCP relay, for
// bench/proxy.sh: it accepts on -listen and copies bytes both ways to
// -upstream with io.Copy (splice(2) between TCP connections on Linux), one
// goroutine per direction, parsing nothing. s3bridge proxy can't be
// faster than this on the same machine.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "`ADDR` to accept clients on")
	upstream := flag.String("upstream", "", "server `ADDR` (host:port)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *listen, *upstream); err != nil {
		fmt.Fprintln(os.Stderr, "tcprelay:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, listen, upstream string) error {
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", listen, err)
	}
	context.AfterFunc(ctx, func() { l.Close() })
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accept: %w", err)
		}
		go relay(c, upstream)
	}
}

// relay copies c to a new connection to upstream and back until either
// side closes.
func relay(c net.Conn, upstream string) {
	defer c.Close()
	up, err := net.Dial("tcp", upstream)
	if err != nil {
		fmt.Fprintf(os.Stderr, "tcprelay: dial %s: %v\n", upstream, err)
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
}
