# Image for the worker and the API (see docker-compose.yml). Runs the TypeScript sources with tsx.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY tsconfig.json ./
ENV NODE_ENV=production
USER node
CMD ["npx", "neuro", "worker"]
