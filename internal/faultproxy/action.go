package faultproxy

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Action is what the proxy does to a request a Rule matched.
type Action struct {
	kind   kind
	status int
	code   string
	after  int64
	delay  time.Duration
}

type kind int

const (
	kindStatus kind = iota + 1
	kindError200
	kindResetRequest
	kindResetResponse
	kindCutResponse
	kindDelay
)

// Status answers with the HTTP status and an S3 error document of code,
// without forwarding the request (its body is read first, so the client
// sees the answer, not a broken pipe).
func Status(status int, code string) Action {
	return Action{kind: kindStatus, status: status, code: code}
}

// InternalError is S3's 500 InternalError.
func InternalError() Action { return Status(http.StatusInternalServerError, "InternalError") }

// SlowDown is S3's 503 SlowDown (throttling).
func SlowDown() Action { return Status(http.StatusServiceUnavailable, "SlowDown") }

// Error200 answers 200 OK with an S3 error document of code as the body,
// without forwarding: S3 does this for CompleteMultipartUpload (and copies)
// when it fails after sending the status line.
func Error200(code string) Action { return Action{kind: kindError200, code: code} }

// ResetRequest reads the first after bytes of the request body, then resets
// the connection (TCP RST); the request never reaches S3.
func ResetRequest(after int64) Action { return Action{kind: kindResetRequest, after: after} }

// ResetResponse forwards the request, sends S3's status, headers and the
// first after bytes of its body, then resets the connection.
func ResetResponse(after int64) Action { return Action{kind: kindResetResponse, after: after} }

// CutResponse forwards the request, sends S3's status, headers (with the
// full Content-Length) and the first after bytes of the body, then closes
// the connection cleanly: a body short of its Content-Length.
func CutResponse(after int64) Action { return Action{kind: kindCutResponse, after: after} }

// Delay receives the request, waits d, then forwards it; a client that
// gives up meanwhile ends the request there, and it never reaches S3.
func Delay(d time.Duration) Action { return Action{kind: kindDelay, delay: d} }

func (a Action) String() string {
	switch a.kind {
	case kindStatus:
		return fmt.Sprintf("%d %s", a.status, a.code)
	case kindError200:
		return "200 OK with <Error>" + a.code
	case kindResetRequest:
		return fmt.Sprintf("reset after %d request bytes", a.after)
	case kindResetResponse:
		return fmt.Sprintf("reset after %d response bytes", a.after)
	case kindCutResponse:
		return fmt.Sprintf("cut after %d response bytes", a.after)
	case kindDelay:
		return "delay " + a.delay.String()
	}
	return "none"
}

func (a Action) serve(p *Proxy, w http.ResponseWriter, r *http.Request) {
	switch a.kind {
	case kindStatus:
		p.errorDocument(w, r, a.status, a.code)
	case kindError200:
		p.errorDocument(w, r, http.StatusOK, a.code)
	case kindResetRequest:
		io.CopyN(io.Discard, r.Body, a.after)
		hangUp(w, true, false)
	case kindResetResponse, kindCutResponse:
		p.cutResponse(w, r, a.after, a.kind == kindResetResponse)
	case kindDelay:
		// Read the body first: only once it is consumed does the server
		// watch the connection, and so see a client that hangs up.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		t := time.NewTimer(a.delay)
		defer t.Stop()
		select {
		case <-t.C:
			p.forward.ServeHTTP(w, r)
		case <-r.Context().Done():
		}
	default:
		p.forward.ServeHTTP(w, r)
	}
}

// errorDocument answers as S3 does when it refuses a request.
func (p *Proxy) errorDocument(w http.ResponseWriter, r *http.Request, status int, code string) {
	io.Copy(io.Discard, r.Body)
	id := "faultproxy-" + strconv.FormatInt(p.seq.Add(1), 10)
	body := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<Error><Code>%s</Code><Message>injected by faultproxy</Message><Resource>%s</Resource><RequestId>%s</RequestId></Error>`,
		html.EscapeString(code), html.EscapeString(r.URL.Path), id)
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Amz-Request-Id", id)
	if status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		io.WriteString(w, body)
	}
}

// cutResponse forwards r and relays the response up to after bytes of its
// body, then hangs up.
func (p *Proxy) cutResponse(w http.ResponseWriter, r *http.Request, after int64, reset bool) {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme, out.URL.Host = p.target.Scheme, p.target.Host
	out.Host = r.Host
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.CopyN(w, resp.Body, after)
	hangUp(w, reset, true)
}

// hangUp closes the client's connection, after flushing what was written
// when flush is set (a flush with nothing written would send a 200 status):
// with a TCP RST when reset, else with an orderly FIN.
func hangUp(w http.ResponseWriter, reset, flush bool) {
	rc := http.NewResponseController(w)
	if flush {
		rc.Flush()
	}
	conn, _, err := rc.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // closes the connection all the same
	}
	if tcp, ok := conn.(*net.TCPConn); ok && reset {
		tcp.SetLinger(0)
	}
	conn.Close()
}
