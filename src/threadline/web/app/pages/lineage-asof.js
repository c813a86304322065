// The lineage page's time control: a slider from the store's first event to its last ("now"), its
// label and a "Now" button. The range comes from the lineage answers (firstEventTime,
// lastEventTime) or, in the column view, from /api/v1/timespan; it is kept when the page builds its
// toolbar again (another view).

import { debounce, formatTime, h } from "../dom.js";

export class AsOfControl {
  /** `asOf()`: the state's time ("" for now); `onChange(asOf)`: the user moved the slider or
   * pressed Now. */
  constructor({ asOf, onChange }) {
    this.asOf = asOf;
    this.onChange = onChange;
    this.first = undefined; // ms since the epoch, once known
    this.last = undefined; // the last event's, plus a second: the slider's end is "now"
  }

  /** Whether the range is known yet. */
  get known() {
    return this.first !== undefined;
  }

  /** A new control (the toolbar is built again for each view), with the known range if any. */
  build() {
    this.input = h("input", {
      type: "range",
      id: "asof",
      name: "asOf",
      min: "0",
      max: "1",
      step: "any",
      value: "1",
      "aria-label": "Show the graph as of this time",
    });
    this.label = h("output", { for: "asof", class: "asof-label" }, "now");
    this.now = h("button", { type: "button", class: "small ghost", onclick: () => this.onChange("") }, "Now");
    const changed = debounce(() => this.changed(), 250);
    this.input.addEventListener("input", () => {
      this.updateLabel();
      changed();
    });
    this.input.addEventListener("change", () => {
      this.updateLabel();
      changed();
    });
    if (this.known) this.setRange();
    return h("div", { class: "control asof" }, h("span", null, "As of"), this.input, this.label, this.now);
  }

  /** Take the range of an answer's firstEventTime and lastEventTime (none: the store is empty). */
  takeTimespan(span) {
    if (!span.firstEventTime) return;
    this.first = new Date(span.firstEventTime).getTime();
    this.last = new Date(span.lastEventTime).getTime() + 1000;
    this.setRange();
  }

  /** The range could not be had: the control does nothing. */
  disable() {
    this.input.disabled = true;
  }

  setRange() {
    this.input.min = String(this.first);
    this.input.max = String(this.last);
    this.sync();
  }

  /** Put the slider where the state's time is. */
  sync() {
    if (!this.known) return;
    const asOf = this.asOf();
    const value = asOf ? new Date(asOf).getTime() : this.last;
    this.input.value = String(Math.min(Math.max(value, this.first), this.last));
    this.updateLabel();
  }

  updateLabel() {
    const value = Number(this.input.value);
    const latest = this.last !== undefined && value >= this.last;
    const now = latest || (!this.asOf() && this.last === undefined);
    this.label.textContent = now ? "now" : formatTime(new Date(value).toISOString());
    this.now.hidden = latest;
  }

  changed() {
    const value = Number(this.input.value);
    const asOf = this.last !== undefined && value >= this.last ? "" : new Date(value).toISOString();
    if (asOf !== this.asOf()) this.onChange(asOf);
  }
}
