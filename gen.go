package spotzee

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen --config client/client.cfg.yaml openapi.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen --config server/server.cfg.yaml openapi.yaml
