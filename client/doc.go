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
package client
