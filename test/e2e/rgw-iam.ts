// RGW's STS and IAM APIs, called with an independent client (aws4fetch), for the credential e2e tests.
import { AwsClient } from "aws4fetch";
import type { TestCredentials } from "../aws-endpoints.ts";
import type { OidcIssuer } from "./oidc-issuer.ts";
import type { S3Target } from "./s3-target.ts";

/** The role test/rgw/rgw.sh creates (s3:*), which the test user may assume. */
export const ROLE = "arn:aws:iam:::role/S3Access";

export function rgwIam(s3: S3Target) {
  const client = (service: string) =>
    new AwsClient({ accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, service, region: s3.region, retries: 0 });

  /** One query-API call (a POST form: RGW answers a GET as S3); resolves with the XML answer. */
  async function queryApi(service: "sts" | "iam", params: Record<string, string>): Promise<string> {
    const response = await client(service).fetch(`${s3.endpoint}/`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
      body: new URLSearchParams(params).toString(),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${params.Action}: ${response.status} ${text}`);
    return text;
  }

  /** Real temporary credentials for ROLE, straight from RGW's STS. */
  async function rgwCredentials(durationSeconds = 900): Promise<TestCredentials> {
    const xml = await queryApi("sts", { Action: "AssumeRole", Version: "2011-06-15", RoleArn: ROLE, RoleSessionName: `stand-in-${Date.now()}`, DurationSeconds: String(durationSeconds) });
    const field = (name: string) => new RegExp(`<${name}>([^<]+)</${name}>`).exec(xml)![1]!;
    return { accessKeyId: field("AccessKeyId"), secretAccessKey: field("SecretAccessKey"), sessionToken: field("SessionToken"), expiration: new Date(field("Expiration")) };
  }

  /** Registers `issuer` with RGW's IAM and creates a role (s3:*) that trusts its tokens for `clientId`; resolves with the role's ARN. */
  async function webIdentityRole(issuer: OidcIssuer, clientId: string, namePrefix: string): Promise<string> {
    await queryApi("iam", { Action: "CreateOpenIDConnectProvider", Version: "2010-05-08", Url: issuer.url, "ClientIDList.member.1": clientId, "ThumbprintList.member.1": issuer.thumbprint });
    const roleName = `${namePrefix}${Date.now()}`;
    const trust = {
      Version: "2012-10-17",
      Statement: [{
        Effect: "Allow",
        Principal: { Federated: [`arn:aws:iam:::oidc-provider/${issuer.hostPath}`] },
        Action: ["sts:AssumeRoleWithWebIdentity"],
        Condition: { StringEquals: { [`${issuer.hostPath}:app_id`]: clientId } },
      }],
    };
    const created = await queryApi("iam", { Action: "CreateRole", Version: "2010-05-08", RoleName: roleName, Path: "/", AssumeRolePolicyDocument: JSON.stringify(trust) });
    const policy = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["s3:*"], Resource: ["arn:aws:s3:::*"] }] };
    await queryApi("iam", { Action: "PutRolePolicy", Version: "2010-05-08", RoleName: roleName, PolicyName: "AllowS3", PolicyDocument: JSON.stringify(policy) });
    return /<Arn>([^<]+)<\/Arn>/.exec(created)![1]!;
  }

  return { client, queryApi, rgwCredentials, webIdentityRole };
}
