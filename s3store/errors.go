package s3store

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/smithy-go"

	"github.com/s3bridge/s3bridge"
)

// Errors callers branch on besides s3bridge.ErrNotFound and ErrExists.
var (
	// ErrAccessDenied means S3 refused the credentials or the policy does
	// not allow the action (AccessDenied, InvalidAccessKeyId,
	// SignatureDoesNotMatch, ExpiredToken, or a bare 403).
	ErrAccessDenied = s3bridge.ErrAccessDenied
	// ErrChanged means the object changed while it was being read: a resumed
	// or parallel ranged GET no longer matched the ETag of the first one.
	ErrChanged = errors.New("object changed while reading")
	// ErrNoCredentials means the SDK's default chain found no credentials
	// at all: none in the environment or the shared files, and no role
	// from the instance metadata service.
	ErrNoCredentials = errors.New("no S3 credentials found")
)

// noCredentials is the sentence for ErrNoCredentials: what to do about it.
const noCredentials = "no S3 credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, " +
	"or a profile with AWS_PROFILE or AWS_SHARED_CREDENTIALS_FILE, or attach --auth anonymous for a public bucket)"

// credentialsError is the default chain's failure when it fell through to
// the instance metadata service: outside EC2 that means nothing was found,
// and the SDK's own words ("no EC2 IMDS role found") send users after an
// EC2 role they never meant to use. It reads with the sentence first, for
// callers that print it without describe (Client.Credentials).
type credentialsError struct{ err error }

func (e *credentialsError) Error() string { return noCredentials + ": " + e.err.Error() }

func (e *credentialsError) Unwrap() []error { return []error{ErrNoCredentials, e.err} }

// lastResort marks the failures of a provider that is the default chain's
// last resort, the instance metadata service, as credentialsErrors; other
// providers (keys, profiles, SSO, roles) are returned as they are, their
// failures being about credentials that were found.
func lastResort(p aws.CredentialsProvider) aws.CredentialsProvider {
	if p == nil || !aws.IsCredentialsProvider(p, (*ec2rolecreds.Provider)(nil)) {
		return p
	}
	return imdsOnly{p}
}

// imdsOnly is lastResort's provider.
type imdsOnly struct{ p aws.CredentialsProvider }

func (o imdsOnly) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := o.p.Retrieve(ctx)
	if err != nil && ctx.Err() == nil {
		err = &credentialsError{err: err}
	}
	return c, err
}

// IsCredentialsProvider answers for the wrapped provider, as the SDK's
// CredentialsCache does, so the SDK's own type checks see through it.
func (o imdsOnly) IsCredentialsProvider(target aws.CredentialsProvider) bool {
	return aws.IsCredentialsProvider(o.p, target)
}

// ProviderSources passes on the wrapped provider's sources (the SDK's user
// agent reports them).
func (o imdsOnly) ProviderSources() []aws.CredentialSource {
	if s, ok := o.p.(aws.CredentialProviderSource); ok {
		return s.ProviderSources()
	}
	return nil
}

// apiError says first, in words, what went wrong and where ("bucket b does
// not exist at http://127.0.0.1:9000"), then what was being done and the
// SDK's own error. It satisfies the sentinel callers branch on, when there
// is one, and keeps the SDK error so callers can still errors.As it.
type apiError struct {
	msg      string // the sentence in words
	doing    string // "s3: OP TARGET"
	sentinel error
	err      error
	// detail, when set, is printed instead of err: the part of err that
	// says more than the sentence, without the SDK's layers around it.
	detail string
}

func (e *apiError) Error() string {
	return e.msg + ": " + e.doing + ": " + cmp.Or(e.detail, e.err.Error())
}

func (e *apiError) Unwrap() []error {
	if e.sentinel == nil {
		return []error{e.err}
	}
	return []error{e.sentinel, e.err}
}

// precondition is what a 412 Precondition Failed means for the request that
// got it: ErrExists for If-None-Match writes, ErrChanged for If-Match reads.
type precondition int

const (
	onWrite precondition = iota
	onRead
)

// wrapErr wraps err with S3's error mapped to our sentinels and said in
// words first, then "s3: OP TARGET: " and the SDK's error. Context errors,
// and errors it has no words for, read "s3: OP TARGET: ERR". What the SDK
// would retry is also s3bridge.ErrTransient (markTransient).
func wrapErr(op, target string, err error, pre precondition) error {
	doing := fmt.Sprintf("s3: %s %s", op, target)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", doing, err)
	}
	w := describe(op, target, err, pre)
	if w == nil {
		return markTransient(fmt.Errorf("%s: %w", doing, err))
	}
	w.doing = doing
	return markTransient(w)
}

// interpret maps an SDK error to our sentinels, for callers that only
// branch on it; err itself when it has no sentinel.
func interpret(err error, pre precondition) error {
	if w := describe("", "", err, pre); w != nil {
		w.doing = "s3"
		return w
	}
	return err
}

// describe maps an SDK error of the operation op on target to a sentence
// and a sentinel; nil when it has no words for it.
func describe(op, target string, err error, pre precondition) *apiError {
	var credErr *credentialsError
	if errors.As(err, &credErr) {
		// No request was sent: the SDK's "operation error S3: HeadBucket,
		// get identity: get credentials:" adds nothing to the sentence.
		return &apiError{msg: noCredentials, sentinel: ErrNoCredentials, err: err, detail: credErr.err.Error()}
	}
	code, status := "", 0
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		status = respErr.HTTPStatusCode()
	}
	bucket, object := subject(target)
	at := " at " + endpointOf(err, bucket)
	wrap := func(msg string, sentinel error) *apiError { return &apiError{msg: msg, sentinel: sentinel, err: err} }
	denied := "access denied to " + object + at + ": the credentials, or the bucket policy, do not allow this action"
	switch code {
	case "NoSuchKey":
		return wrap("object "+object+" not found"+at, s3bridge.ErrNotFound)
	case "NoSuchBucket":
		return wrap("bucket "+bucket+" does not exist"+at, s3bridge.ErrNotFound)
	case "NoSuchUpload":
		return wrap("the multipart upload of "+object+" no longer exists"+at, s3bridge.ErrNotFound)
	case "AccessDenied", "AllAccessDisabled":
		return wrap(denied, ErrAccessDenied)
	case "InvalidAccessKeyId":
		return wrap("the access key ID is not known"+at+" (check AWS_ACCESS_KEY_ID or the profile)", ErrAccessDenied)
	case "SignatureDoesNotMatch":
		return wrap("the secret access key is wrong for this access key ID"+at+" (check AWS_SECRET_ACCESS_KEY or the profile)", ErrAccessDenied)
	case "ExpiredToken", "InvalidToken", "InvalidTokenId", "TokenRefreshRequired": // InvalidTokenId: MinIO's
		return wrap("the session token has expired or is invalid"+at+" (get new credentials)", errors.Join(ErrAccessDenied, s3bridge.ErrCredentialsExpired))
	}
	switch status {
	case http.StatusNotFound: // HEAD responses carry no error code
		if object == "s3://"+bucket || object == "s3://"+bucket+"/" {
			return wrap("bucket "+bucket+" does not exist"+at, s3bridge.ErrNotFound)
		}
		return wrap("object "+object+" not found"+at, s3bridge.ErrNotFound)
	case http.StatusForbidden:
		return wrap(denied, ErrAccessDenied)
	case http.StatusPreconditionFailed:
		if pre == onRead {
			return wrap("object "+object+" changed while it was read (its ETag no longer matches)", ErrChanged)
		}
		return wrap("object "+object+" exists", s3bridge.ErrExists)
	}
	if status == 0 {
		if why := unreachable(err); why != "" {
			return wrap("cannot reach the S3 endpoint "+endpointOf(err, bucket)+" ("+why+")", nil)
		}
	}
	return nil
}

// subject returns the bucket of an operation's target ("s3://b/k bytes
// 0-9", "s3://b") and the target as the sentences name it.
func subject(target string) (bucket, object string) {
	object, _, _ = strings.Cut(target, " ")
	bucket, _, _ = strings.Cut(strings.TrimPrefix(object, "s3://"), "/")
	return bucket, object
}

// endpointOf is the S3 endpoint the failed request went to, scheme and
// host, with a virtual-hosted bucket's name taken off the host.
func endpointOf(err error, bucket string) string {
	var raw string
	var respErr *awshttp.ResponseError
	var uerr *url.Error
	switch {
	case errors.As(err, &respErr) && respErr.Response != nil && respErr.Response.Request != nil:
		raw = respErr.Response.Request.URL.String()
	case errors.As(err, &uerr):
		raw = uerr.URL
	}
	u, perr := url.Parse(raw)
	if raw == "" || perr != nil || u.Host == "" {
		return "the S3 endpoint"
	}
	host := u.Host
	if bucket != "" {
		host = strings.TrimPrefix(host, bucket+".")
	}
	return u.Scheme + "://" + host
}

// unreachable says why no response came, for the failures of the network
// and TLS; "" for others.
func unreachable(err error) string {
	var dnsErr *net.DNSError
	var certErr *x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused: is the server running, and is the port right?"
	case errors.As(err, &dnsErr):
		return "host " + dnsErr.Name + " not found"
	case errors.As(err, &certErr), errors.As(err, &hostErr):
		return "its TLS certificate is not trusted (AWS_CA_BUNDLE names a CA file)"
	case errors.Is(err, syscall.ECONNRESET):
		return "the connection was reset before the answer came"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "the network refused the connection"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	}
	return ""
}
