/** Something the README says that is not so, at the line it says it. */
export interface Problem {
  line: number;
  message: string;
}
