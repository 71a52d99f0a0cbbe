// Methods registered by name and built through one create(name, ...) (timm style).
import { UserError } from '../errors.js';
import type { Method, MethodContext, MethodFactory, TrainingDefaults } from './method.js';

const factories = new Map<string, MethodFactory>();

export function register<O extends Record<string, unknown>>(factory: MethodFactory<O>): void {
  if (factories.has(factory.name)) throw new Error(`method ${factory.name} registered twice`);
  factories.set(factory.name, factory as unknown as MethodFactory);
}

export function methodNames(): string[] {
  return [...factories.keys()];
}

export function getFactory(name: string): MethodFactory {
  const factory = factories.get(name);
  if (!factory) throw new UserError(`unknown method '${name}' (methods: ${methodNames().join(', ')})`);
  return factory;
}

export interface Resolved {
  factory: MethodFactory;
  options: Record<string, unknown>;
  training: TrainingDefaults;
  preset: string | undefined;
}

/** Defaults, then the preset, then explicit options: the full configuration a run records. */
export function resolve(name: string, preset: string | undefined, options: Record<string, unknown> = {}, training: Partial<TrainingDefaults> = {}): Resolved {
  const factory = getFactory(name);
  let presetEntry;
  if (preset !== undefined) {
    presetEntry = factory.presets[preset];
    if (!presetEntry) throw new UserError(`method ${name}: unknown preset '${preset}' (presets: ${Object.keys(factory.presets).join(', ')})`);
  }
  const merged = factory.parseOptions({ ...factory.defaults, ...presetEntry?.options, ...options });
  return { factory, options: merged, training: { ...factory.training, ...presetEntry?.training, ...training }, preset };
}

export function create(resolved: Resolved, ctx: MethodContext): Method {
  return resolved.factory.create(ctx, resolved.options);
}
