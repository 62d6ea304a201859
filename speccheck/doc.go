// Package speccheck guards openapi.yaml, the hand-written contract of
// Spotzee's project API-key endpoints. It has three parts:
//
//   - Lint: kin-openapi validation plus the house rules every operation,
//     response, property and example must follow;
//   - CheckBreaking: oasdiff's backward-compatibility checks between two
//     versions of the spec, gated on an info.version bump and a CHANGELOG
//     entry;
//   - CompareUpstream: an operation-by-operation comparison with Spotzee's
//     published OpenAPI 3.1 document, restricted to the operations the
//     contract covers.
//
// cmd/spotzee-spec is the command-line front end; mk/spec.mk wires it into make.
package speccheck
