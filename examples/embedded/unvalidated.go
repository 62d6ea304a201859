package embedded

import (
	"net/http"

	"github.com/spotzeekit/spotzee-keys/conventions"
	"github.com/spotzeekit/spotzee-keys/server"
	"github.com/spotzeekit/spotzee-keys/validate"
)

// NewUnvalidatedHandler returns the stack of NewHandler without
// validate.Middleware: the generated router and strict handler over the
// in-memory service, behind the conventions layer. It exists to measure
// what validation costs (bench/ and cmd/spotzee-load); do not serve it, it
// checks nothing the generated binding does not.
func NewUnvalidatedHandler() http.Handler {
	s := &Service{keys: map[int64]server.ProjectAPIKey{}}
	strict := server.NewStrictHandlerWithOptions(s, nil, conventions.StrictOptions(nil))
	api := server.HandlerWithOptions(strict, conventions.StdOptions(validate.DefaultPathPrefix))
	return conventions.Middleware(conventions.Config{})(api)
}
