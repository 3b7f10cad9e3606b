# One replica of the app: `streamlit run app.py` with its requirements and the shipped models, as a
# non-root user, answering Streamlit's health check. A lecture hall runs several behind HAProxy
# (deploy/haproxy.cfg), each with the same STREAMLIT_SERVER_COOKIE_SECRET and the same shared folders
# mounted at /data/models and /data/drawings; see "Serving a lecture hall" in README.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    MNIST_MLP_MODELS=/data/models \
    MNIST_MLP_DRAWINGS=/data/drawings

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

RUN useradd --create-home --uid 1000 --user-group app \
    && mkdir -p /data/models /data/drawings \
    && chown app:app /data/models /data/drawings
# The app's code, its settings (.streamlit/config.toml) and the shipped models; see .dockerignore.
COPY --chown=app:app . .
USER 1000:1000

EXPOSE 8501
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read() != b'ok')"]
CMD ["python", "-m", "streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port", "8501", \
     "--server.headless", "true"]
