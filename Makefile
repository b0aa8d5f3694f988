# Dynamote: one entry point per task (scripts/dev.sh does the work, so it also runs without make).
.PHONY: run test test-postgres css css-check format e2e

run: ## Start Dynamote on http://127.0.0.1:8000 (the sandbox cluster when no kubeconfig is found); PORT=8001 or PORT=0.0.0.0:8001 for another
	@sh scripts/dev.sh run $(PORT)

test: ## Every check CI runs
	@sh scripts/dev.sh test

test-postgres: ## The database tests against a throwaway PostgreSQL (installs it when missing)
	@sh scripts/dev.sh test-postgres

css: ## Rebuild static/css/dynamote.css
	@sh scripts/dev.sh css

css-check: ## Fail when the committed CSS is stale
	@sh scripts/dev.sh css-check

format: ## Fix lint and formatting
	uv run ruff check --fix .
	uv run ruff format .

e2e: ## Only the browser tests
	uv run pytest tests/e2e

screenshots: ## Regenerate the README screenshots in docs/screenshots/ (the same PNGs every run)
	uv run python scripts/screenshots.py
