// Package modgraph holds tests about the module graph that consumers of
// github.com/spotzeekit/spotzee-keys see: which packages the generated
// client and server packages pull in, and which modules end up in a
// downstream module's go.mod. It contains no non-test code.
package modgraph
