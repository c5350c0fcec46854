package console

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
	"github.com/s3bridge/s3bridge/token"
)

// principal is who a request is from: a token's name and role, and the
// console session it came through, if any.
type principal struct {
	name    string
	role    token.Role
	session *session
}

// tokenStore is what authentication needs of an instance (sqlstore.Store
// has it).
type tokenStore interface {
	TokenByHash(ctx context.Context, hash string) (sqlstore.Token, error)
}

// sessionCookie names the console's session cookie.
const sessionCookie = "s3bridge_session"

// authenticate finds the request's token: Authorization: Bearer, the
// password of HTTP Basic auth, or the console's session cookie. A session
// is checked against its token on every request, so revoking the token
// ends it.
func (s *Server) authenticate(r *http.Request) (principal, error) {
	var secret string
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, _ := strings.Cut(h, " ")
		switch strings.ToLower(scheme) {
		case "bearer":
			secret = strings.TrimSpace(rest)
		case "basic":
			_, pw, ok := r.BasicAuth()
			if !ok {
				return principal{}, errUnauthenticated
			}
			secret = pw
		default:
			return principal{}, errUnauthenticated
		}
		if secret == "" {
			return principal{}, errUnauthenticated
		}
		t, err := s.lookup(r.Context(), token.Hash(secret))
		if err != nil {
			return principal{}, err
		}
		return principal{name: t.Name, role: token.Role(t.Role)}, nil
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return principal{}, errUnauthenticated
	}
	se := s.sessions.get(c.Value)
	if se == nil {
		return principal{}, errUnauthenticated
	}
	t, err := s.lookup(r.Context(), se.hash)
	if err != nil {
		if errors.Is(err, errUnauthenticated) {
			s.sessions.drop(c.Value)
		}
		return principal{}, err
	}
	return principal{name: t.Name, role: token.Role(t.Role), session: se}, nil
}

// lookup finds the unexpired token with the hash in a served instance:
// errUnauthenticated when none has it. A database that fails is an error
// of its own (the token may be fine), not a refusal.
func (s *Server) lookup(ctx context.Context, hash string) (sqlstore.Token, error) {
	var failed error
	for _, sv := range s.instances {
		ts, ok := sv.in.(tokenStore)
		if !ok {
			continue
		}
		t, err := ts.TokenByHash(ctx, hash)
		switch {
		case errors.Is(err, s3bridge.ErrNotFound):
			continue
		case err != nil:
			failed = err
			continue
		}
		// The database matched on the hash; compare again in constant
		// time so that no answer depends on how much of it matched.
		if !token.Equal(t.Hash, hash) || t.Expired(s.cfg.Now()) {
			continue
		}
		if _, err := token.ParseRole(t.Role); err != nil {
			continue
		}
		return t, nil
	}
	if failed != nil {
		return sqlstore.Token{}, failed
	}
	return sqlstore.Token{}, errUnauthenticated
}

// session is a console login: the token's hash (never the token) and the
// CSRF token its forms carry.
type session struct {
	hash    string
	csrf    string
	expires time.Time
}

// checkCSRF compares the form's or header's CSRF token with the
// session's.
func (se *session) checkCSRF(r *http.Request) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf_token")
	}
	return got != "" && token.Equal(got, se.csrf)
}

// sessions are the server's console logins, in memory: a restart logs
// everyone out.
type sessions struct {
	ttl time.Duration
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*session
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{ttl: ttl, now: now, m: map[string]*session{}}
}

func randomID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// start makes a session for the token hash and returns its id.
func (ss *sessions) start(hash string) (string, *session, error) {
	id, err := randomID()
	if err != nil {
		return "", nil, err
	}
	csrf, err := randomID()
	if err != nil {
		return "", nil, err
	}
	now := ss.now()
	se := &session{hash: hash, csrf: csrf, expires: now.Add(ss.ttl)}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, v := range ss.m {
		if !now.Before(v.expires) {
			delete(ss.m, k)
		}
	}
	ss.m[id] = se
	return id, se, nil
}

func (ss *sessions) get(id string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	se := ss.m[id]
	if se == nil || !ss.now().Before(se.expires) {
		delete(ss.m, id)
		return nil
	}
	return se
}

func (ss *sessions) drop(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, id)
}

func (s *Server) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: sessionCookie, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.cfg.Secure}
}

// login is the console's login form: the token is checked, a session
// made, and the browser sent where it was going.
func (s *Server) login(w http.ResponseWriter, r *http.Request, _ principal) error {
	secret := strings.TrimSpace(r.PostFormValue("token"))
	next := localPath(r.PostFormValue("next"))
	if secret == "" {
		s.renderLogin(w, r, http.StatusUnauthorized, "Enter a token.")
		return nil
	}
	hash := token.Hash(secret)
	if _, err := s.lookup(r.Context(), hash); err != nil {
		if errors.Is(err, errUnauthenticated) {
			s.renderLogin(w, r, http.StatusUnauthorized, "That token is not valid (unknown, revoked or expired).")
			return nil
		}
		return err
	}
	id, _, err := s.sessions.start(hash)
	if err != nil {
		return err
	}
	http.SetCookie(w, s.cookie(id, int(s.cfg.SessionTTL/time.Second)))
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, _ principal) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.drop(c.Value)
	}
	http.SetCookie(w, s.cookie("", -1))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// localPath is next if it is a path on this server, else "/tasks": the
// login form never sends a browser elsewhere.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.HasPrefix(next, "/login") {
		return "/tasks"
	}
	return next
}
