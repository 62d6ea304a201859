package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/spotzeekit/spotzee-keys/client"
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

	for key, err := range c.AllKeys(context.Background(), &client.ListApiKeysParams{Limit: new(2)}) {
		if err != nil {
			fmt.Println("error:", err)
			break
		}
		fmt.Println(key.Id, key.Name, key.Value)
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
