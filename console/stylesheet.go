package console

// Stylesheet is the console's style sheet, for pages served outside the console that should look
// like it (the action links' pages, under /act/).
func Stylesheet() []byte {
	b, _ := assets.ReadFile("static/style.css") // embedded: cannot fail
	return b
}
