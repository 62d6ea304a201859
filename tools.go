//go:build tools

// Package tools pins the code generators and linters the module runs with
// "go run", so every machine uses the versions recorded in go.mod.
package tools

import (
	_ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
)
