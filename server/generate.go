// Package server holds the server interfaces and models oapi-codegen
// generates from openapi.yaml: a net/http handler (HandlerWithOptions), the
// strict interface (StrictServerInterface) whose methods take and return
// typed request and response objects, and the models. Unimplemented
// (unimplemented.gen.go, written by internal/genunimpl from server.gen.go)
// implements every strict method with a 501 NotImplementedError, for
// services to embed. json.gen.go (internal/genjson) gives the models
// reflection-free MarshalJSON methods whose output is encoding/json's and
// request bodies a decoder for their plain form (anything else goes to
// encoding/json), and the strict server uses them (strict-*.gen.tmpl:
// oapi-codegen's templates with that one change each). Never edit the *.gen.go files by hand: change
// openapi.yaml and run go generate.
package server

//go:generate go run ../internal/genjson template strict-interface.gen.tmpl strict-http.gen.tmpl
//go:generate go tool oapi-codegen --config server.cfg.yaml ../openapi.yaml
//go:generate go run ../internal/genunimpl server.gen.go unimplemented.gen.go
//go:generate go run ../internal/genjson server.gen.go json.gen.go json_gen_test.go
