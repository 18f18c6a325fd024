package app

import "github.com/gofiber/fiber/v2"

// apiRoutes lists every route of the JSON API (../shared/API.md).
func (a *App) apiRoutes(api fiber.Router) {
	_ = api
}
