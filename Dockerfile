# Image for the worker and the API (see docker-compose.yml). Runs the TypeScript sources with tsx.
FROM node:24-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# The image's Node is the LTS already: drop the pinned Node binary npm installs for older systems.
RUN npm ci --omit=dev --no-audit --no-fund && rm -rf node_modules/node-linux-*
COPY bin ./bin
COPY src ./src
COPY tsconfig.json ./
ENV NODE_ENV=production
USER node
CMD ["npx", "neuro", "worker"]
