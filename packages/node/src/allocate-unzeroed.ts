/**
 * Memory for incoming attachments, not zeroed first (`FramedLinkOptions.allocate`): the link
 * writes every byte before it hands the array on, so zeroing would be wasted, and on a model of
 * tens of MB it costs as much as copying the model in. Each array has an ArrayBuffer of its own.
 */
export function allocateUnzeroed(bytes: number): Uint8Array {
  return Buffer.allocUnsafeSlow(bytes);
}
