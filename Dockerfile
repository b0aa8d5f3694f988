# Dynamote's container image. The build steps live in scripts/build-image.sh (tested in CI).
FROM python:3.11-slim AS build
WORKDIR /app
COPY . .
RUN sh scripts/build-image.sh /opt/venv

FROM python:3.11-slim
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /app dynamote
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=root:root /app /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DJANGO_DEBUG=false \
    DYNAMOTE_VAR_DIR=/tmp/dynamote
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=2)"]
# ASGI: gunicorn supervising one uvicorn worker (dynamote/gunicorn.py). The shared cluster
# mirror lives in the process; open pages' event streams hold no thread, so /api/health
# answers at once however many pages are open.
ENTRYPOINT ["gunicorn", "--config", "python:dynamote.gunicorn"]
