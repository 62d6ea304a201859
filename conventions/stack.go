package conventions

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/problem"
	"github.com/spotzeekit/spotzee-keys/server"
	"github.com/spotzeekit/spotzee-keys/validate"
)

// BindingError returns the catalogue error for a request the generated code
// could not bind (a path, query or header parameter of the wrong form): 400
// parameter_invalid_format naming the parameter, without echoing its value.
func BindingError(err error) *spotzee.Error {
	var (
		pf *server.InvalidParamFormatError
		tm *server.TooManyValuesForParamError
		rp *server.RequiredParamError
		rh *server.RequiredHeaderError
	)
	e := spotzee.Errorf(spotzee.CodeParameterInvalidFormat, "The request could not be read: malformed request")
	switch {
	case errors.As(err, &pf):
		e.Param, e.Message = pf.ParamName, "The request could not be read: parameter "+pf.ParamName+" has an invalid format"
	case errors.As(err, &tm):
		e.Param, e.Message = tm.ParamName, "The request could not be read: parameter "+tm.ParamName+" was sent more than once"
	case errors.As(err, &rp):
		e.Param = rp.ParamName
	case errors.As(err, &rh):
		e.Param = rh.ParamName
	}
	return e
}

// StrictOptions returns the error handlers to pass to
// server.NewStrictHandlerWithOptions: binding errors become 400
// problem+json, handler errors go through WriteError. The generated
// defaults write err.Error() as text/plain; these never do.
func StrictOptions(log *slog.Logger) server.StrictHTTPServerOptions {
	return server.StrictHTTPServerOptions{
		RequestErrorHandlerFunc: func(w http.ResponseWriter, _ *http.Request, err error) {
			problem.Write(w, BindingError(err))
		},
		ResponseErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			WriteError(log, w, r, err)
		},
	}
}

// StdOptions returns the options to pass to server.HandlerWithOptions: the
// base URL and a problem+json handler for parameter binding errors.
func StdOptions(baseURL string) server.StdHTTPServerOptions {
	return server.StdHTTPServerOptions{
		BaseURL: baseURL,
		ErrorHandlerFunc: func(w http.ResponseWriter, _ *http.Request, err error) {
			problem.Write(w, BindingError(err))
		},
	}
}

// HandlerConfig is what NewHandler assembles.
type HandlerConfig struct {
	// Server implements the operations (required). Embed
	// server.Unimplemented to answer 501 for the ones you leave out.
	Server server.StrictServerInterface
	// BaseURL is where the API is mounted (default validate.DefaultPathPrefix,
	// "/api/client", as on Spotzee).
	BaseURL string
	// Validator checks requests (and responses with ValidateResponses); nil
	// is validate.Default(), the faithful contract. Its path prefix must
	// equal BaseURL.
	Validator *validate.Validator
	// ValidateResponses validates every response too; a violation is logged
	// and answered 500 internal_error.
	ValidateResponses bool
	// Conventions configures the outer layer (versions, logger, access log).
	Conventions Config
	// Middlewares wrap each operation (server.StrictMiddlewareFunc).
	Middlewares []server.StrictMiddlewareFunc
}

// NewHandler returns cfg.Server behind the generated router, request
// validation and the conventions layer, every error problem+json. It returns
// an error when Server is nil, the default validator does not load, or the
// validator's path prefix differs from BaseURL (requests would be validated
// against one path and routed on another).
func NewHandler(cfg HandlerConfig) (http.Handler, error) {
	if cfg.Server == nil {
		return nil, errors.New("conventions: HandlerConfig.Server is required")
	}
	base := strings.TrimSuffix(cfg.BaseURL, "/")
	if cfg.BaseURL == "" {
		base = validate.DefaultPathPrefix
	}
	v := cfg.Validator
	if v == nil {
		var err error
		if v, err = validate.Default(); err != nil {
			return nil, fmt.Errorf("conventions: %w", err)
		}
	}
	if v.PathPrefix() != base {
		return nil, fmt.Errorf("conventions: the validator's path prefix %q differs from the handler's base URL %q: "+
			"build the validator with validate.WithPathPrefix(%q) or mount the handler at %q",
			v.PathPrefix(), base, base, v.PathPrefix())
	}
	strict := server.NewStrictHandlerWithOptions(cfg.Server, cfg.Middlewares, StrictOptions(cfg.Conventions.Logger))
	var mopts []validate.MiddlewareOption
	if cfg.ValidateResponses {
		mopts = append(mopts, validate.ValidateResponses())
	}
	if cfg.Conventions.Logger != nil {
		mopts = append(mopts, validate.WithLogger(cfg.Conventions.Logger))
	}
	api := v.Middleware(mopts...)(server.HandlerWithOptions(strict, StdOptions(base)))
	return Middleware(cfg.Conventions)(api), nil
}
