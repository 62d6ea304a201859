// Package conventions is the layer any server built on the generated stubs
// (package server) wraps around its handler to keep Spotzee's conventions:
//
//   - a request id (`req_` + ULID) on every response, as X-Request-Id and as
//     the error body's request_id;
//   - the Spotzee-Version a request asks for checked and echoed;
//   - X-Request-Id and Spotzee-Version stamped onto every response whose
//     handler left them empty;
//   - application/problem+json for every error: handler errors (a
//     *spotzee.Error keeps its code; anything else is a 500 internal_error
//     whose text never reaches the client), binding errors (400
//     parameter_invalid_format naming the parameter), the router's plain-text
//     404 and 405, operations a server.Unimplemented leaves out (501), and
//     panics.
//
// NewHandler assembles the whole stack (strict handler, validate.Middleware,
// this layer) in one call and refuses a validator whose path prefix differs
// from the handler's base URL. The pieces are exported for a custom stack:
// Middleware, StrictOptions, StdOptions and WriteError.
package conventions
