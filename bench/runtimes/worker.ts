// bench/runtimes.ts's Worker: GET /?who=ours|aws4fetch&n=N signs N URLs inside workerd and answers the last one;
// /?who=...&i=I answers the URL of request I (to check). Time is frozen inside a Worker while it computes, so the
// bench times requests from outside, against n=0.
import { sign, signMany, type Who } from "./workload.ts";

export default {
  async fetch(request: Request): Promise<Response> {
    const params = new URL(request.url).searchParams;
    const who = params.get("who") as Who;
    if (who !== "ours" && who !== "aws4fetch") return new Response("who?", { status: 400 });
    const i = params.get("i");
    const url = i !== null ? await sign(who, Number(i)) : await signMany(who, Number(params.get("n") ?? 0));
    return new Response(url);
  },
};
