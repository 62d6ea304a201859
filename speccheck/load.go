package speccheck

import (
	"context"
	"fmt"
	"net/url"
	"os"

	"github.com/getkin/kin-openapi/openapi3"
)

// LoadData parses an OpenAPI document (YAML or JSON) held in memory and
// resolves its local $refs. name labels the document in error messages.
// External $refs are refused. It does not validate the document: Lint does.
// On failure it returns a nil document and an error naming the document.
func LoadData(ctx context.Context, data []byte, name string) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.Context = ctx
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromDataWithPath(data, &url.URL{Path: name})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	return doc, nil
}

// LoadFile reads the OpenAPI document at path and loads it with LoadData.
// On failure it returns a nil document and an error naming the file.
func LoadFile(ctx context.Context, path string) (*openapi3.T, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	return LoadData(ctx, data, path)
}
