FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
RUN pip install --no-cache-dir --constraint constraints.txt . \
    && useradd --create-home coatcheck
USER coatcheck
EXPOSE 8000
CMD ["coatcheck", "serve", "--host", "0.0.0.0", "--port", "8000"]
