/** Field shapes shared by several fact schemas. */
import { z } from 'zod';
import { EntityRef } from '../ids.js';

export const Name = z.string().trim().min(1).max(500);
export const Aliases = z.array(Name).max(100).describe('Other spellings and scripts');
export const Text = z.string().trim().min(1).max(20000);
export const Strings = z.array(z.string().trim().min(1).max(2000)).max(500);
export const Ref = EntityRef;
