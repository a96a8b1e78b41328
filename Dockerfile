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
CMD ["clout", "web", "--port", "8000"]
