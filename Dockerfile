# signpost on Node, as the README describes: docker build -t signpost . && docker run -p 8787:8787 -v signpost-data:/data signpost
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY src ./src
# The image's own unprivileged user owns the data folder; nothing runs as root.
RUN mkdir -p /data && chown node:node /data && chmod 700 /data
USER node
ENV HOST=0.0.0.0 PORT=8787 SIGNPOST_DATA_DIR=/data NODE_ENV=production
VOLUME /data
EXPOSE 8787
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8787) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--import", "./src/runtime/node-loader.mjs", "src/runtime/node.ts"]
