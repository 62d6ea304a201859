package httpapi

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/problem"
)

// IdempotencyTTL is how long a response stays replayable.
const IdempotencyTTL = 24 * time.Hour

// cachedResponse is what a replay sends again.
type cachedResponse struct {
	Status      int    `json:"s"`
	RequestID   string `json:"r"`
	ContentType string `json:"c"`
	Body        []byte `json:"b"`
}

// sealer encrypts cached responses with AES-256-GCM, so a replayable create
// response (which holds a full key value) is never at rest in plaintext.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("httpapi: idempotency cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("httpapi: idempotency cipher: %w", err)
	}
	return &sealer{aead: aead}, nil
}

// ad binds a sealed record to its API key and idempotency key.
func ad(apiKeyID int64, key string) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(apiKeyID))
	return append(b, key...)
}

func (s *sealer) seal(plain []byte, apiKeyID int64, key string) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plain, ad(apiKeyID, key))
}

func (s *sealer) open(sealed []byte, apiKeyID int64, key string) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed record too short")
	}
	return s.aead.Open(nil, sealed[:n], sealed[n:], ad(apiKeyID, key))
}

// idempotency replays POST and PATCH responses for a repeated
// Idempotency-Key, scoped to the calling API key. It runs after validation
// and authentication, so the body it hashes is the validated, re-encoded
// JSON (the same value in any member order or spacing hashes the same).
type idempotency struct {
	store  spotzee.IdempotencyStore
	sealer *sealer
	now    func() time.Time
	log    *slog.Logger
	next   http.Handler
}

func (m *idempotency) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	keys := r.Header.Values("Idempotency-Key")
	if (r.Method != http.MethodPost && r.Method != http.MethodPatch) || len(keys) == 0 {
		m.next.ServeHTTP(w, r)
		return
	}
	st := stateFrom(r.Context())
	if len(keys) > 1 {
		problem.Write(w, spotzee.ParamErrorf(spotzee.CodeIdempotencyKeyInvalid, "Idempotency-Key",
			"Send one Idempotency-Key header, of 1 to 255 characters."))
		return
	}
	key := keys[0]
	body, err := io.ReadAll(r.Body)
	if err != nil {
		problem.Write(w, spotzee.Errorf(spotzee.CodeParameterInvalidFormat, "The request body could not be read."))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.New()
	fmt.Fprintf(sum, "%s\n%s\n", r.Method, r.URL.Path)
	sum.Write(body)
	hash := sum.Sum(nil)

	now := m.now().UTC()
	existing, created, err := m.store.BeginIdempotent(r.Context(), spotzee.IdempotencyRecord{
		APIKeyID: st.principal(), Key: key, RequestHash: hash, CreatedAt: now, ExpiresAt: now.Add(IdempotencyTTL),
	}, now)
	if err != nil {
		m.fail(w, r, "begin idempotent request", err)
		return
	}
	if !created {
		if !m.replay(w, r, st, existing, key, hash) {
			return
		}
		// The cached response cannot be opened: treat it as expired.
		if err := m.store.DiscardIdempotent(r.Context(), st.principal(), key); err != nil {
			m.fail(w, r, "discard unreadable idempotent response", err)
			return
		}
		existing, created, err = m.store.BeginIdempotent(r.Context(), spotzee.IdempotencyRecord{
			APIKeyID: st.principal(), Key: key, RequestHash: hash, CreatedAt: now, ExpiresAt: now.Add(IdempotencyTTL),
		}, now)
		if err != nil {
			m.fail(w, r, "begin idempotent request", err)
			return
		}
		if !created { // a concurrent retry got there first
			m.replay(w, r, st, existing, key, hash)
			return
		}
	}
	// The record must be finished or abandoned even when the client has
	// gone away (its context cancelled), or it would answer every retry
	// with idempotency_in_progress until it expires.
	ctx := context.WithoutCancel(r.Context())
	rec := &teeWriter{ResponseWriter: w, status: http.StatusOK}
	// existing is now the record this request began: its CreatedAt
	// identifies it, so that once a retry takes it over after the lease
	// this request can neither finish nor abandon it.
	begun := existing.CreatedAt
	run := &idemRun{key: key, begun: begun, sealer: m.sealer, st: st}
	st.idem = run
	finished := false
	defer func() {
		if !finished && !run.settled {
			// A panic below: the response is not cached; let a retry run.
			_ = m.store.AbandonIdempotent(ctx, st.principal(), key, begun)
		}
	}()
	m.next.ServeHTTP(rec, r)
	finished = true
	if run.settled {
		// The handler's write finished the record in its own transaction
		// (or found it taken over by another request): nothing to store.
		return
	}
	if rec.status >= 500 || rec.status == http.StatusTooManyRequests {
		if err := m.store.AbandonIdempotent(ctx, st.principal(), key, begun); err != nil {
			m.log.ErrorContext(r.Context(), "abandon idempotent request", slog.String("request_id", st.requestID), slog.String("error", err.Error()))
		}
		return
	}
	sealed := run.seal(rec.status, w.Header().Get("Content-Type"), rec.body.Bytes())
	if err := m.store.FinishIdempotent(ctx, st.principal(), key, begun, sealed); err != nil {
		if e, ok := errors.AsType[*spotzee.Error](err); ok && e.Code == spotzee.CodeResourceMissing {
			// A retry took the record over after its lease (this request
			// ran that long): the retry's outcome is the one kept.
			m.log.WarnContext(r.Context(), "idempotent response not stored: the record was taken over by a retry",
				slog.String("request_id", st.requestID))
			return
		}
		m.log.ErrorContext(r.Context(), "store idempotent response", slog.String("request_id", st.requestID), slog.String("error", err.Error()))
	}
}

// idemRun is a request's running idempotency record, as the handler sees
// it: a handler whose one write can finish the record in its own transaction
// (spotzee.IdempotencyFinish) seals its response with seal and sets settled
// once the write has returned, so the middleware stores nothing more.
type idemRun struct {
	key string
	// begun is the record's CreatedAt as BeginIdempotent returned it: its
	// identity (see spotzee.IdempotencyFinish).
	begun  time.Time
	sealer *sealer
	st     *state
	// settled is set by the handler when its write committed with the
	// finished record, or was refused because another request holds the
	// record now (which the middleware must then leave alone).
	settled bool
}

// finishInTx returns the in-transaction finish of st's running record, whose
// response is body(row) sealed as a 200 JSON response; nil when the request
// has no Idempotency-Key. Once the write returns, settleInTx must be called.
func finishInTx[Row any](st *state, body func(Row) any) *spotzee.IdempotencyFinish[Row] {
	run := st.idem
	if run == nil {
		return nil
	}
	return &spotzee.IdempotencyFinish[Row]{APIKeyID: st.principal(), Key: run.key, Begun: run.begun,
		Response: func(r Row) ([]byte, error) { return run.sealJSON(body(r)) }}
}

// settleInTx records the outcome of a write that was given an
// in-transaction finish (finishing): when it committed (err nil), or was
// refused because another request holds the record now, the record is not
// the middleware's to finish or abandon any more.
func settleInTx(st *state, finishing bool, err error) {
	if finishing && (err == nil || spotzee.ErrorCode(err) == spotzee.CodeIdempotencyInProgress) {
		st.idem.settled = true
	}
}

// seal returns the sealed record of a response: what replay sends again.
func (r *idemRun) seal(status int, contentType string, body []byte) []byte {
	plain, _ := json.Marshal(cachedResponse{Status: status, RequestID: r.st.requestID, ContentType: contentType, Body: body})
	return r.sealer.seal(plain, r.st.principal(), r.key)
}

// sealJSON seals a 200 response whose body is v encoded as the generated
// strict handlers encode it (json.Encoder, with its trailing newline), so
// that a replay sends the very bytes the first response sent.
func (r *idemRun) sealJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	return r.seal(http.StatusOK, "application/json", buf.Bytes()), nil
}

// replay answers a request whose Idempotency-Key has a live record: with a
// mismatch or in-progress problem, or the cached response. It reports true,
// writing nothing, when the cached response cannot be opened (sealed under
// another server secret, or damaged): the caller then treats the record as
// expired, since no client can be answered from it.
func (m *idempotency) replay(w http.ResponseWriter, r *http.Request, st *state, existing spotzee.IdempotencyRecord, key string, hash []byte) (unreadable bool) {
	switch {
	case !bytes.Equal(existing.RequestHash, hash):
		problem.Write(w, spotzee.ParamErrorf(spotzee.CodeIdempotencyKeyMismatch, "Idempotency-Key",
			"This Idempotency-Key was used with another request; use a new key for a new request."))
		return false
	case !existing.Done:
		e := spotzee.ParamErrorf(spotzee.CodeIdempotencyInProgress, "Idempotency-Key",
			"The first request with this Idempotency-Key is still running; retry shortly.")
		e.RetryAfter = 1
		problem.Write(w, e)
		return false
	}
	plain, err := m.sealer.open(existing.Response, st.principal(), key)
	var cached cachedResponse
	if err == nil {
		err = json.Unmarshal(plain, &cached)
	}
	if err != nil {
		m.log.WarnContext(r.Context(), "cached idempotent response cannot be opened (was the server secret changed?); treating it as expired",
			slog.String("request_id", st.requestID), slog.String("error", err.Error()))
		return true
	}
	st.replayOf = cached.RequestID
	w.Header().Set("Idempotent-Replayed", "true")
	w.Header().Set("Content-Type", cached.ContentType)
	w.WriteHeader(cached.Status)
	_, _ = w.Write(cached.Body)
	return false
}

func (m *idempotency) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	logFault(r.Context(), m.log, what, err)
	problem.Write(w, spotzee.Errorf(spotzee.CodeInternalError, "An unexpected error occurred."))
}

// teeWriter passes a response through and keeps a copy of it.
type teeWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (t *teeWriter) WriteHeader(status int) {
	if !t.wroteHeader {
		t.status, t.wroteHeader = status, true
	}
	t.ResponseWriter.WriteHeader(status)
}

func (t *teeWriter) Write(p []byte) (int, error) {
	t.wroteHeader = true
	t.body.Write(p)
	return t.ResponseWriter.Write(p)
}
