FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY service ./service
COPY webhooks ./webhooks
COPY workers ./workers
RUN pip install --no-cache-dir . && useradd --create-home clout
USER clout
ENV CLOUT_DATA_DIR=/home/clout/data
EXPOSE 8000
# Every address of the container: the proxy in front reaches it over the compose network.
CMD ["clout", "web", "--host", "0.0.0.0", "--port", "8000"]
