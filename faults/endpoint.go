package faults

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// EndpointPath is where a server exposes Handler.
const EndpointPath = "/_spotzee/faults"

// Script is the JSON body of the operator endpoint: rules to add, after
// removing every rule in force when Reset is true.
type Script struct {
	Reset bool   `json:"reset,omitempty"`
	Rules []Rule `json:"rules"`
}

// State is what the operator endpoint answers: the rules still in force
// and the number of faults injected so far.
type State struct {
	Rules    []Rule `json:"rules"`
	Injected int    `json:"injected"`
}

// Handler returns the operator endpoint: POST a Script (application/json)
// to add rules, GET the State, DELETE to remove every rule. A bad script is
// answered 400 with a plain-text reason and changes nothing. It is meant
// for test environments only: anyone who reaches it can make the server
// fail.
func (in *Injector) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
		case http.MethodDelete:
			in.Reset()
			w.WriteHeader(http.StatusNoContent)
			return
		case http.MethodPost:
			var s Script
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&s); err != nil {
				http.Error(w, fmt.Sprintf("faults: bad script: %v", err), http.StatusBadRequest)
				return
			}
			if s.Reset {
				if err := in.validateRules(s.Rules); err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				in.Reset()
			}
			if err := in.Add(s.Rules...); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		default:
			w.Header().Set("Allow", "GET, POST, DELETE")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(State{Rules: in.Rules(), Injected: in.Injected(AnyOperation)})
	})
}

// Mux returns api with the operator endpoint at EndpointPath and the faults
// injected into everything else.
func (in *Injector) Mux(api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(EndpointPath, in.Handler())
	mux.Handle("/", in.Middleware(api))
	return mux
}
