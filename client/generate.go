package client

//go:generate go tool oapi-codegen --config client.cfg.yaml ../openapi.yaml
