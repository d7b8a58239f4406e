// Writes docs/api-reference.md from the comments in proto/roomgate/v1: every
// service, RPC, message, field and enum value, and who may call each RPC (its
// `Authorization:` comment line). It reads the FileDescriptorSet that
// `buf build` makes, whose source code info holds the comments, and fails,
// writing nothing, when any of those elements has no comment or an RPC has no
// `Authorization:` line. Usage: node scripts/api-reference.mjs [output]
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromBinary, isFieldSet } from '@bufbuild/protobuf';
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FieldDescriptorProtoSchema,
  FileDescriptorSetSchema,
} from '@bufbuild/protobuf/wkt';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const output = process.argv[2] ?? join(root, 'docs/api-reference.md');
const PACKAGE = 'roomgate.v1';

// Field numbers of FileDescriptorProto, DescriptorProto, EnumDescriptorProto
// and ServiceDescriptorProto, as source code info paths spell them.
const PATH = { message: 4, enum: 5, service: 6, field: 2, nested: 3, nestedEnum: 4, value: 2, method: 2 };

const buf = join(root, 'node_modules/.bin/buf');
// Source code info is included by default; it is what carries the comments.
const set = fromBinary(FileDescriptorSetSchema, execFileSync(buf, ['build', '--as-file-descriptor-set', '-o', '-'], { cwd: root }));
const files = set.file.filter((f) => f.package === PACKAGE).sort((a, b) => order(a.name) - order(b.name) || a.name.localeCompare(b.name));

const problems = [];

/** Services first, in the order a reader meets them; then the shared types. */
function order(name) {
  const i = ['room_service', 'peer_service', 'token_service', 'event_service', 'resources', 'events'].findIndex((n) => name.endsWith(`/${n}.proto`));
  return i < 0 ? 99 : i;
}

function commentsOf(file) {
  const byPath = new Map();
  for (const loc of file.sourceCodeInfo?.location ?? []) byPath.set(loc.path.join('.'), loc);
  if (byPath.size === 0) problems.push(`${file.name}: no source code info, so no comments`);
  return (path, what) => {
    const loc = byPath.get(path.join('.'));
    const text = [loc?.leadingComments, loc?.trailingComments]
      .filter((c) => c && c.trim())
      .map((c) => c.replace(/^ /gm, '').trim())
      .join('\n');
    if (!text) problems.push(`${file.name}: ${what} has no comment`);
    return text;
  };
}

const anchors = new Set();
/** The GitHub anchor of a heading made of a plain identifier. */
function anchor(name) {
  const a = name.toLowerCase();
  if (anchors.has(a)) problems.push(`two headings would share the anchor #${a}`);
  anchors.add(a);
  return a;
}

const SCALARS = new Map(
  Object.entries(FieldDescriptorProto_Type)
    .filter(([k]) => typeof FieldDescriptorProto_Type[k] === 'number')
    .map(([k, v]) => [v, k.replace(/^TYPE_/, '').toLowerCase()]),
);

/** A type name as a link: to its section for roomgate types, to the protobuf docs for well-known ones. */
function typeLink(typeName) {
  const name = typeName.replace(/^\./, '');
  if (name.startsWith(`${PACKAGE}.`)) {
    const short = name.slice(PACKAGE.length + 1);
    return `[${short}](#${short.toLowerCase()})`;
  }
  if (name.startsWith('google.protobuf.')) {
    return `[${name}](https://protobuf.dev/reference/protobuf/google.protobuf/#${name.split('.').pop().toLowerCase()})`;
  }
  return `\`${name}\``;
}

function fieldType(field) {
  const base = field.typeName ? typeLink(field.typeName) : `\`${SCALARS.get(field.type)}\``;
  if (field.label === FieldDescriptorProto_Label.REPEATED) return `repeated ${base}`;
  if (field.proto3Optional) return `optional ${base}`;
  return base;
}

/** A comment as one table cell. */
const cell = (text) => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

/** Splits an RPC comment into its description and its `Authorization:` line. */
function splitAuthorization(comment, what) {
  const lines = comment.split('\n');
  const i = lines.findIndex((l) => l.startsWith('Authorization: '));
  if (i < 0) {
    problems.push(`${what} has no "Authorization:" comment line`);
    return { description: comment, authorization: '' };
  }
  return {
    description: lines.filter((_, j) => j !== i).join('\n').trim(),
    authorization: lines[i].slice('Authorization: '.length),
  };
}

const services = [];
const serviceSections = [];
const typeSections = [];
const toc = [];
const typeToc = [];

for (const file of files) {
  const comment = commentsOf(file);
  const types = [];
  file.service.forEach((service, si) => {
    const sPath = [PATH.service, si];
    const lines = [`### ${service.name}`, '', comment(sPath, `service ${service.name}`), ''];
    anchor(service.name);
    const rpcs = [];
    service.method.forEach((method, mi) => {
      const what = `${service.name}.${method.name}`;
      const { description, authorization } = splitAuthorization(comment([...sPath, PATH.method, mi], `rpc ${what}`), `rpc ${what}`);
      const stream = (s) => (s ? 'stream ' : '');
      lines.push(
        `#### ${method.name}`,
        '',
        `\`rpc ${method.name}(${stream(method.clientStreaming)}${method.inputType.split('.').pop()}) returns (${stream(method.serverStreaming)}${method.outputType.split('.').pop()})\``,
        '',
        `Request ${typeLink(method.inputType)}; response ${method.serverStreaming ? 'a stream of ' : ''}${typeLink(method.outputType)}.`,
        '',
        description,
        '',
        `**Authorization:** ${authorization}`,
        '',
      );
      anchor(method.name);
      rpcs.push(method.name);
      services.push({ service: service.name, rpc: method.name, authorization });
    });
    toc.push(`- [${service.name}](#${service.name.toLowerCase()}): ${rpcs.map((r) => `[${r}](#${r.toLowerCase()})`).join(', ')}`);
    serviceSections.push(...lines);
  });

  const messageLines = [];
  const describeEnum = (en, path, prefix) => {
    const name = prefix + en.name;
    types.push(name);
    messageLines.push(`### ${name}`, '', comment(path, `enum ${name}`), '', '| value | number | description |', '|---|---|---|');
    anchor(name);
    en.value.forEach((v, vi) => {
      messageLines.push(`| \`${v.name}\` | ${v.number} | ${cell(comment([...path, PATH.value, vi], `enum value ${v.name}`))} |`);
    });
    messageLines.push('');
  };
  const describeMessage = (msg, path, prefix) => {
    const name = prefix + msg.name;
    if (msg.options?.mapEntry) return;
    types.push(name);
    messageLines.push(`### ${name}`, '', comment(path, `message ${name}`), '');
    anchor(name);
    if (msg.field.length === 0) {
      messageLines.push('No fields.', '');
    } else {
      messageLines.push('| field | number | type | description |', '|---|---|---|---|');
      msg.field.forEach((f, fi) => {
        // A proto3 `optional` is a synthetic oneof; only real oneofs are named.
        const inOneof = isFieldSet(f, FieldDescriptorProtoSchema.field.oneofIndex) && !f.proto3Optional;
        const oneof = inOneof ? ` (oneof \`${msg.oneofDecl[f.oneofIndex].name}\`)` : '';
        messageLines.push(
          `| \`${f.name}\` | ${f.number} | ${fieldType(f)}${oneof} | ${cell(comment([...path, PATH.field, fi], `field ${name}.${f.name}`))} |`,
        );
      });
      messageLines.push('');
    }
    msg.nestedType.forEach((n, i) => describeMessage(n, [...path, PATH.nested, i], `${name}.`));
    msg.enumType.forEach((e, i) => describeEnum(e, [...path, PATH.nestedEnum, i], `${name}.`));
  };
  file.messageType.forEach((m, i) => describeMessage(m, [PATH.message, i], ''));
  file.enumType.forEach((e, i) => describeEnum(e, [PATH.enum, i], ''));
  if (types.length > 0) {
    typeSections.push(`## Types in ${file.name}`, '', ...messageLines);
    typeToc.push(`- Types in \`${file.name}\`: ${types.map((t) => `[${t}](#${t.toLowerCase()})`).join(', ')}`);
  }
}

if (problems.length > 0) {
  console.error(`api-reference: every service, RPC, message, field and enum value of ${PACKAGE} needs a comment:`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}

const page = [
  `<!-- Generated by scripts/api-reference.mjs (npm run docs:api) from proto/roomgate/v1. Do not edit: edit the proto comments and run it again. -->`,
  '',
  `# API reference (\`${PACKAGE}\`)`,
  '',
  'Every service, RPC, message, field and enum value of the contract, taken from',
  'the comments in `proto/roomgate/v1/*.proto` (the same text `grpcurl describe`',
  'and generated stubs show). The [API guide](api.md) explains how the pieces fit',
  'together; [errors.md](errors.md) lists the status codes and error details.',
  '',
  '## Who may call each RPC',
  '',
  'Each RPC\'s comment ends with an `Authorization:` line. A management token',
  'needs one of the scopes it lists (`admin` allows everything); a peer token may',
  'call the RPC only where the line names one, and then only under the conditions',
  'it gives. `src/domain/permissions.ts` enforces this, and',
  '`test/integration/rpc-authorization.test.ts` reads these lines from the',
  'descriptors and checks them against the running server, so the two cannot',
  'drift apart unnoticed. See [security.md](security.md) for the token model.',
  '',
  '| service | RPC | authorization |',
  '|---|---|---|',
  ...services.map((s) => `| ${s.service} | [${s.rpc}](#${s.rpc.toLowerCase()}) | ${cell(s.authorization)} |`),
  '',
  '## Contents',
  '',
  ...toc,
  ...typeToc,
  '',
  '## Services',
  '',
  ...serviceSections,
  ...typeSections,
];
writeFileSync(output, `${page.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`);
