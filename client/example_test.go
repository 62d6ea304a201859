package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/oapi-codegen/nullable"

	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
)

// fakeSpotzee stands in for Spotzee in the examples: two pages of keys, and
// 404 for every single key.
func fakeSpotzee() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req_01HXY7Z9K8M5J2N4P6Q8R0S1T2")
		if r.URL.Path != "/keys" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"status":"error","code":"resource_missing","title":"Resource missing",`+
				`"message":"No API key with id 99 in this project.","type":"https://docs.spotzee.com/main-api/errors#resource_missing",`+
				`"request_id":"req_01HXY7Z9K8M5J2N4P6Q8R0S1T2","param":"keyId"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		key := `{"id":%d,"project_id":123,"name":%q,"scope":"secret","role":"admin","value":"sk_****%s","created_at":null,"updated_at":null}`
		if r.URL.Query().Get("cursor") == "" {
			_, _ = fmt.Fprintf(w, `{"results":[`+key+`,`+key+`],"nextCursor":"c2","prevCursor":null,"limit":2}`,
				1, "web", "AAAA", 2, "billing", "BBBB")
			return
		}
		_, _ = fmt.Fprintf(w, `{"results":[`+key+`],"nextCursor":null,"prevCursor":"c1","limit":2}`, 3, "cli", "CCCC")
	}))
}

func ExampleAPI_AllKeys() {
	srv := fakeSpotzee()
	defer srv.Close()
	c, err := client.New(srv.URL, "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2")
	if err != nil {
		panic(err)
	}

	for key, err := range c.AllKeys(context.Background(), &client.ListProjectAPIKeysParams{Limit: new(2)}) {
		if err != nil {
			fmt.Println("error:", err)
			break
		}
		fmt.Println(key.ID, key.Name, key.Value)
	}
	// Output:
	// 1 web sk_****AAAA
	// 2 billing sk_****BBBB
	// 3 cli sk_****CCCC
}

func ExampleAPIError() {
	srv := fakeSpotzee()
	defer srv.Close()
	c, err := client.New(srv.URL, "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2")
	if err != nil {
		panic(err)
	}

	_, err = c.GetKey(context.Background(), 99)

	fmt.Println(errors.Is(err, client.ErrNotFound))
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Code, apiErr.RequestID)
	}
	fmt.Println(err)
	// Output:
	// true
	// 404 resource_missing req_01HXY7Z9K8M5J2N4P6Q8R0S1T2
	// spotzee: GET /keys/99: 404 resource_missing (param keyId): No API key with id 99 in this project. [request_id req_01HXY7Z9K8M5J2N4P6Q8R0S1T2]
}

func ExampleAPI_String() {
	c, err := client.New("", "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2")
	if err != nil {
		panic(err)
	}
	fmt.Printf("%v\n", c)
	// Output:
	// client.API{baseURL: "https://apix.spotzee.com/api/client", apiKey: "sk_****S1T2", version: "2026-04-28", clientType: "unknown"}
}

// The examples below run against the reference server started in-process
// by spotzeetest.Start; against Spotzee, pass client.DefaultBaseURL (or "")
// and your own admin secret key instead of srv.URL and srv.AdminKey. They
// print stable facts (prefixes, lengths, codes, names), not the ids, values
// and timestamps that change on every run.

func ExampleAPI_CreateKey() {
	srv, err := spotzeetest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	c, err := client.New(srv.URL, srv.AdminKey, client.WithClientType("cli"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// An Idempotency-Key of your own makes the create safe to rerun, even
	// from another process: the same key and body return the same key.
	req := client.ProjectAPIKeyCreate{
		Name:        "billing service",
		Description: nullable.NewNullableWithValue("charges cards"),
		Role:        new(client.ProjectRoleEditor),
	}
	created, err := c.CreateKey(ctx, req, client.WithIdempotencyKey("create-billing-key-v1"))
	if err != nil {
		log.Fatal(err)
	}
	// This is the only response that carries the full value: store it now,
	// in a secret manager. Never log it.
	value := created.Value
	fmt.Println("prefix:", value[:3], "length:", len(value))
	fmt.Println("role:", created.Role, "scope:", created.Scope)

	again, err := c.CreateKey(ctx, req, client.WithIdempotencyKey("create-billing-key-v1"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("rerun returns the same key:", again.ID == created.ID && again.Value == value)

	// Every later read masks the value: prefix, four asterisks, last four.
	key, err := c.GetKey(ctx, created.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("read back masked:", key.Value == value[:3]+"****"+value[len(value)-4:])
	// Output:
	// prefix: sk_ length: 29
	// role: editor scope: secret
	// rerun returns the same key: true
	// read back masked: true
}

func ExampleAPI_AllKeys_filters() {
	srv, err := spotzeetest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	c, err := client.New(srv.URL, srv.AdminKey)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	for _, name := range []string{"web", "billing-eu", "cron", "billing-us", "billing-asia", "mobile"} {
		if _, err := c.CreateKey(ctx, client.ProjectAPIKeyCreate{Name: name}); err != nil {
			log.Fatal(err)
		}
	}

	// Two keys per page: AllKeys follows the cursors and sends the same
	// search and sort with every page.
	params := &client.ListProjectAPIKeysParams{Q: new("billing"), Sort: new("name"), Limit: new(2)}
	for key, err := range c.AllKeys(ctx, params) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(key.Name, key.Value[:7]+"…")
	}

	// Without filters: every key of the project, including the admin key the
	// project was created with and its system key.
	n := 0
	for _, err := range c.AllKeys(ctx, nil) {
		if err != nil {
			log.Fatal(err)
		}
		n++
	}
	fmt.Println("keys in the project:", n)
	// Output:
	// billing-asia sk_****…
	// billing-eu sk_****…
	// billing-us sk_****…
	// keys in the project: 8
}

func ExampleAPI_UpdateKey() {
	srv, err := spotzeetest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	c, err := client.New(srv.URL, srv.AdminKey)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	created, err := c.CreateKey(ctx, client.ProjectAPIKeyCreate{
		Name:        "ci",
		Description: nullable.NewNullableWithValue("deploys main"),
	})
	if err != nil {
		log.Fatal(err)
	}

	// Only the fields set are sent. A null Description clears it; leaving
	// it unset would keep it.
	key, err := c.UpdateKey(ctx, created.ID, client.ProjectAPIKeyUpdate{
		Name:        new("ci (deploys)"),
		Role:        new(client.ProjectRolePublisher),
		Description: nullable.NewNullNullable[string](),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("name:", key.Name)
	fmt.Println("role:", key.Role)
	fmt.Println("description cleared:", key.Description.IsNull())
	fmt.Println("scope kept:", key.Scope)
	fmt.Println("value unchanged:", strings.HasSuffix(created.Value, key.Value[len(key.Value)-4:]))
	// Output:
	// name: ci (deploys)
	// role: publisher
	// description cleared: true
	// scope kept: secret
	// value unchanged: true
}

func ExampleAPI_RevokeKey() {
	srv, err := spotzeetest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	c, err := client.New(srv.URL, srv.AdminKey)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	created, err := c.CreateKey(ctx, client.ProjectAPIKeyCreate{Name: "temporary", Role: new(client.ProjectRoleAdmin)})
	if err != nil {
		log.Fatal(err)
	}
	temp, err := client.New(srv.URL, created.Value)
	if err != nil {
		log.Fatal(err)
	}

	rev, err := c.RevokeKey(ctx, created.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("revoked:", *rev.Revoked, *rev.ID == created.ID)

	// Revocation is immediate and final: the key is gone, and calls made
	// with it are refused.
	_, err = c.GetKey(ctx, created.ID)
	fmt.Println("get it:", errors.Is(err, client.ErrNotFound))
	_, err = temp.ListKeys(ctx, nil)
	fmt.Println("use it:", errors.Is(err, client.ErrUnauthorized))
	// Output:
	// revoked: true true
	// get it: true
	// use it: true
}

func ExampleAPIError_handling() {
	srv, err := spotzeetest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	c, err := client.New(srv.URL, srv.AdminKey)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// errors.Is matches families of codes; errors.As gives the details.
	var apiErr *client.APIError
	_, err = c.GetKey(ctx, 424242)
	switch {
	case errors.Is(err, client.ErrNotFound) && errors.As(err, &apiErr):
		fmt.Println("not found:", apiErr.StatusCode, apiErr.Code, strings.HasPrefix(apiErr.RequestID, "req_"))
	case err != nil:
		log.Fatal(err)
	}

	// A value outside an enum: 422 validation_failed, with one entry per
	// field in Errors.
	_, err = c.CreateKey(ctx, client.ProjectAPIKeyCreate{Name: "x", Role: new(client.ProjectRole("owner"))})
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Code, "param:", apiErr.Param, "ErrValidation:", errors.Is(err, client.ErrValidation))
		for _, f := range apiErr.Errors {
			fmt.Println("  field:", f.Param, f.Code)
		}
	}

	// The project's system key cannot be revoked: 409 state_conflict.
	for key, err := range c.AllKeys(ctx, nil) {
		if err != nil {
			log.Fatal(err)
		}
		if key.IsSystemKey != nil && *key.IsSystemKey {
			_, err := c.RevokeKey(ctx, key.ID)
			if errors.As(err, &apiErr) {
				fmt.Println(apiErr.StatusCode, apiErr.Code, "ErrConflict:", errors.Is(err, client.ErrConflict))
			}
		}
	}
	// Output:
	// not found: 404 resource_missing true
	// 422 validation_failed param: role ErrValidation: true
	//   field: role parameter_invalid_format
	// 409 state_conflict ErrConflict: true
}
