package main

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/spotzeekit/spotzee-keys/faults"
)

// withFaultEndpoint returns api unchanged when enabled is false; otherwise
// api behind a fault injector, with the injector's operator endpoint at
// faults.EndpointPath. It returns an error when the injector cannot be
// built.
func withFaultEndpoint(api http.Handler, enabled bool, log *slog.Logger) (http.Handler, error) {
	if !enabled {
		return api, nil
	}
	in, err := faults.New(nil)
	if err != nil {
		return nil, fmt.Errorf("fault endpoint: %w", err)
	}
	in.SetLogger(log)
	log.Warn("fault injection enabled: anyone who can reach the server can make it fail; for test environments only",
		slog.String("endpoint", faults.EndpointPath))
	return in.Mux(api), nil
}
