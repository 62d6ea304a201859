// The hand-written part of this package is the SDK teams use: [API], built by
// [New], with typed methods for Spotzee's project API-key endpoints, errors as
// [*APIError], safe retries and iterators over every page. The generated
// [ClientWithResponses] stays reachable through [API.Raw].
//
// # Creating a client
//
//	c, err := client.New(client.DefaultBaseURL, os.Getenv("SPOTZEE_API_KEY"),
//		client.WithClientType("cli"),
//		client.WithTimeout(10*time.Second),
//	)
//
// The API key is sent as a bearer token and never printed: fmt and log/slog
// show it masked (sk_****S1T2). In contract tests, pass a validating
// transport with [WithTransport]; in unit tests, an *http.Client with
// [WithHTTPClient] and a fake sleep with [WithSleep].
//
// # Creating a key: store the value once
//
// The create response is the only one that carries the full key value; every
// later read returns it masked.
//
//	created, err := c.CreateKey(ctx, client.ProjectAPIKeyCreate{
//		Name:  "billing service",
//		Role:  new(client.ProjectRoleEditor),
//		Scope: new(client.APIKeyScopeSecret),
//	})
//	if err != nil {
//		return err
//	}
//	if err := vault.Put("spotzee/billing", created.Value); err != nil { // now or never
//		return err
//	}
//
// # Listing every key
//
// [API.AllKeys] follows the cursors for you, with the same filters on every
// page; break out of the loop whenever you like.
//
//	for key, err := range c.AllKeys(ctx, &client.ListProjectAPIKeysParams{
//		Sort:  new("name"),
//		Limit: new(100),
//	}) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(key.ID, key.Name, key.Value) // value masked
//	}
//
// # Updating a key
//
// Only the fields set change. Description is a
// [github.com/oapi-codegen/nullable.Nullable]: leave it unset to keep it, set
// it to null to clear it.
//
//	key, err := c.UpdateKey(ctx, created.ID, client.ProjectAPIKeyUpdate{
//		Name:        new("billing service (eu)"),
//		Description: nullable.NewNullNullable[string](),
//	})
//
// # Errors
//
// Every non-2xx response is an [*APIError] with the status, the catalogue
// [Code], the message and the request id to quote to Spotzee support. Match
// families of codes with errors.Is and the sentinels ([ErrNotFound],
// [ErrUnauthorized], [ErrForbidden], [ErrRateLimited], [ErrConflict],
// [ErrValidation]), or get the details with errors.As:
//
//	_, err := c.GetKey(ctx, 12)
//	var apiErr *client.APIError
//	switch {
//	case errors.Is(err, client.ErrNotFound):
//		// unknown, revoked or another project's key
//	case errors.As(err, &apiErr):
//		log.Printf("spotzee said %s (%d), request %s: %s",
//			apiErr.Code, apiErr.StatusCode, apiErr.RequestID, apiErr.Message)
//		for _, f := range apiErr.Errors { // per-field, for validation_failed
//			log.Printf("  %s: %s", f.Param, f.Message)
//		}
//	case err != nil:
//		// network failure, cancelled context, ...
//	}
//
// # Retries
//
// GET and DELETE are retried on network errors, 429 and 5xx; POST and PATCH
// too, and on 409 idempotency_in_progress, because each call carries an
// Idempotency-Key (generated once per call, or yours with
// [WithIdempotencyKey]) that stays the same on every attempt. Retry-After is
// honoured; otherwise the SDK backs off exponentially with full jitter. See
// [RetryPolicy]. A cancelled context stops everything at once.
//
// # Retrying creates against today's Spotzee
//
// Spotzee documents Idempotency-Key but has not switched it on yet: today
// production ignores the header. So a create whose response is lost (a reset
// connection, a timeout, a 5xx from a proxy after the API had answered) and
// that the SDK retries creates a second key. A repeated PATCH sets the same
// fields again and a repeated revoke answers 404, so only creates duplicate. Until the rollout, for creates that must happen once:
//
//   - turn automatic POST retries off with [WithAutoIdempotencyKeys](false)
//     (a POST without an Idempotency-Key is never retried), or keep them but
//     accept that a duplicate can appear and revoke it;
//   - put a unique marker in the key's name or description (a deploy id, a
//     UUID), and after an ambiguous failure — an error that is not an
//     [*APIError] — look the key up with [API.AllKeys] and the marker as
//     ListProjectAPIKeysParams.Q before creating again. A duplicate found
//     later can be revoked; its value was only ever in the lost response.
//
// An [*APIError] is not ambiguous: the API answered, and nothing was created
// for a 4xx. The reference server's ProfileCurrent (spotzee-keys serve
// --profile current, spotzeetest.WithProfile) behaves like today's
// production, to test this against; its default profile behaves as after
// the rollout, where the same Idempotency-Key replays the first response.
//
// # Rate limits
//
// Today production enforces per-IP edge limits (a 429 rate_limited with
// Retry-After whose body has no request_id; [APIError.RequestID] then comes
// from the X-Request-Id header, if any); the per-key limits and their
// X-RateLimit-* headers are rolling out. The SDK treats both the same way:
// a 429 is retried after Retry-After, up to RetryPolicy.MaxRetryAfter.
package client
